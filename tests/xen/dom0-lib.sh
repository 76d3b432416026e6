# Helpers for the commands the host driver runs in dom0 (tests/xen/driver,
# d0): every command is a short sh script that sources this file first.
# Not run on its own.
H=/host
OUT=$H/out

up() { cut -d' ' -f1 /proc/uptime; }

# since T: seconds since uptime T, two decimals
since() { awk -v a="$1" -v b="$(up)" 'BEGIN { printf "%.2f", b - a }'; }

# guest_cfg NAME [LINE...]: /tmp/NAME.cfg for a PV test guest, plus LINEs
guest_cfg() {
	name=$1
	shift
	{
		echo "name=\"$name\""
		echo 'type="pv"'
		echo "kernel=\"$H/vmlinuz\""
		echo "ramdisk=\"$H/domU-initrd.gz\""
		echo 'extra="console=hvc0 loglevel=5"'
		echo 'memory=128'
		echo 'vcpus=1'
		echo 'on_crash="preserve"'
		for l in "$@"; do
			echo "$l"
		done
	} >"/tmp/$name.cfg"
}

# wait_for FILE REGEX SECONDS: true once a line of FILE matches
wait_for() {
	i=0
	while ! grep -qE -- "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -le $(($3 * 10)) ] || return 1
		sleep 0.1
	done
}

# start_vfbd NAME ARGS...: vfbd ARGS, detached from the command that
# starts it; its log, pid and exit status in $OUT/vfbd-NAME.{log,pid,rc}
start_vfbd() {
	n=$1
	shift
	rm -f "$OUT/vfbd-$n.rc" "$OUT/vfbd-$n.pid" "$OUT/vfbd-$n.log"
	setsid sh -c '
		n=$1
		shift
		vfbd "$@" 2>"/host/out/vfbd-$n.log" &
		echo $! >"/host/out/vfbd-$n.pid"
		wait $!
		echo $? >"/host/out/vfbd-$n.rc"' sh "$n" "$@" \
		</dev/null >/dev/null 2>&1 &
	wait_for "$OUT/vfbd-$n.pid" . 5
}

# vfbd_exited NAME: true (and says how) when vfbd NAME has ended
vfbd_exited() {
	[ -f "$OUT/vfbd-$1.rc" ] || return 1
	echo "vfbd exited with status $(cat "$OUT/vfbd-$1.rc"):"
	tail -n 8 "$OUT/vfbd-$1.log" | sed 's/^/  | /'
}

# wait_vfbd NAME SECONDS [XENSTORE-PATH]: until vfbd NAME logs that it
# listens (and PATH, e.g. a backend state, reads 2 or 4); false with the
# reason printed when it exits or time runs out
wait_vfbd() {
	i=0
	while :; do
		vfbd_exited "$1" && return 1
		if grep -q ' listening ' "$OUT/vfbd-$1.log" 2>/dev/null; then
			[ -z "${3:-}" ] && return 0
			case $(xenstore-read "$3" 2>/dev/null) in
			2 | 4) return 0 ;;
			esac
		fi
		i=$((i + 1))
		if [ "$i" -gt $(($2 * 10)) ]; then
			echo "vfbd did not get ready within $2 s${3:+ ($3 = $(xenstore-read "$3" 2>&1))}:"
			tail -n 8 "$OUT/vfbd-$1.log" | sed 's/^/  | /'
			return 1
		fi
		sleep 0.1
	done
}

# console_cmd DOMID TEXT: TEXT as a line of input on the guest's console
# (xt-guest reads its commands there)
console_cmd() {
	tty=$(xenstore-read "/local/domain/$1/console/tty") || return 1
	printf '%s\n' "$2" >"$tty"
}

# nodes_of DOMID: xenstore nodes that still belong to the domain's vfb or
# keyboard backends or its device model
nodes_of() {
	xenstore-ls -f /local/domain/0/backend 2>/dev/null |
		grep -E "^/local/domain/0/backend/(vfb|vkbd|vinput|vfbd)/$1(/| =)"
	if xenstore-exists "/local/domain/0/device-model/$1" 2>/dev/null; then
		echo "/local/domain/0/device-model/$1 exists:"
		xenstore-ls -f "/local/domain/0/device-model/$1" 2>/dev/null
	fi
	xenstore-ls -f "/local/domain/$1/device" 2>/dev/null |
		grep -E "/device/(vfb|vkbd)"
	return 0
}

# The vfb line of the Option B guest: libxl starts the device model
# (device_model_override = vfbd-dm) with -vnc 0.0.0.0:0,to=99.
VFB_B="vfb=['vnc=1,vnclisten=0.0.0.0,vncdisplay=0']"

# create_guest NAME a|b: xl create of a test guest; prints xl-create-s=
# and domid=. a: no vfb=, created paused (vfbd --create-devices adds the
# devices, then the test unpauses it). b: vfb=[...] and vfbd-dm as the
# device model.
create_guest() {
	case $2 in
	a)
		guest_cfg "$1"
		flags=-p
		;;
	*)
		guest_cfg "$1" "$VFB_B" 'device_model_version="qemu-xen"' \
			'device_model_override="/usr/local/bin/vfbd-dm"'
		flags=
		;;
	esac
	t=$(up)
	timeout 120 xl create $flags "/tmp/$1.cfg" >"/tmp/$1.xl" 2>&1
	rc=$?
	cat "/tmp/$1.xl"
	echo "xl-create-s=$(since "$t")"
	d=$(xl domid "$1" 2>/dev/null) && echo "domid=$d"
	[ "$rc" -ne 0 ] && [ "$2" = b ] && dm_post_mortem "$1"
	return "$rc"
}

# dm_post_mortem NAME: why libxl gave up on the device model
dm_post_mortem() {
	d=$(sed -n 's/.*[Dd]omain \([0-9][0-9]*\).*/\1/p' "/tmp/$1.xl" | head -n 1)
	acc=/var/log/xen/xenstored-access.log
	if [ -n "$d" ] && [ -f "$acc" ]; then
		if grep -q "write  *.*/local/domain/0/device-model/$d/state" "$acc"; then
			echo "xenstore: device-model/$d/state was written:"
			grep "write  *.*/local/domain/0/device-model/$d/state" "$acc" |
				tail -n 3 | sed 's/^/  | /'
		else
			echo "xenstore: nobody wrote /local/domain/0/device-model/$d/state" \
				"(libxl waits 60 s for \"running\" there)"
		fi
	fi
	if [ -n "$d" ] && wait_for "$OUT/vfbd-dm-$d.rc" . 5; then
		echo "vfbd-dm exited with status $(cat "$OUT/vfbd-dm-$d.rc")"
	fi
	if [ -f "/var/log/xen/qemu-dm-$1.log" ]; then
		echo "/var/log/xen/qemu-dm-$1.log:"
		tail -n 12 "/var/log/xen/qemu-dm-$1.log" | sed 's/^/  | /'
	fi
}

# destroy_guest NAME DOMID RC-FILE: xl destroy, then up to 30 s for vfbd
# to write its exit status to RC-FILE; prints xl-destroy-s=, vfbd-rc= and
# what is left in xenstore
destroy_guest() {
	t=$(up)
	timeout 60 xl destroy "$1" 2>&1
	rc=$?
	echo "xl-destroy-s=$(since "$t")"
	if wait_for "$3" . 30; then
		echo "vfbd-rc=$(cat "$3") after=$(since "$t")"
	else
		echo "vfbd-rc=none: still running 30 s later: $(pgrep -a vfbd | tr '\n' ';')"
	fi
	echo "left-begin"
	nodes_of "$2"
	echo "left-end"
	return "$rc"
}

# collect_logs: Xen's and libxl's logs into $OUT for the post-mortem
collect_logs() {
	mkdir -p "$OUT/dom0-logs"
	cp /var/log/xen/*.log "$OUT/dom0-logs/" 2>/dev/null
	xl dmesg >"$OUT/dom0-logs/xl-dmesg.txt" 2>&1
	xenstore-ls -f >"$OUT/dom0-logs/xenstore.txt" 2>&1
	dmesg >"$OUT/dom0-logs/dom0-dmesg.txt" 2>&1
	return 0
}
