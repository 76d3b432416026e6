# Helpers for the lifecycle fault tests (tests/fault/*.sh); sourced, not run.
#
# Each test re-executes itself under `unshare -n` so that vfbd, its clients
# and the nftables rules live in a private network namespace whose loopback
# is the only network. A vanished peer is an nftables rule on the INPUT
# hook that drops every packet of one 4-tuple in both directions: no FIN,
# no RST, no ACK (design/testing.md).
#
# Output is TAP: "ok N - ..." / "not ok N - ...", the measured figure in
# the description, and "1..N" at the end. Under CI=true nothing is
# skipped: a missing privilege is a failure.

set -u
: "${BUILD:=build}"
: "${VFBD:=$BUILD/vfbd}"
FC=$BUILD/tools/vfbd-faultclient
STRESS=$BUILD/tools/vfbd-stress
VFBDCTL=tools/vfbdctl
# How often log and output files are polled, in seconds.
POLL=0.02

tap_n=0
tap_bad=0
bg_pids=""
vfbd_pid=""

# fault_setup "$0" "$@": enter the private namespace, prepare nftables.
fault_setup() {
	if [ "${VFBD_FAULT_NETNS:-}" != 1 ]; then
		why=""
		[ "$(id -u)" -eq 0 ] || why="needs root"
		[ -n "$why" ] || command -v nft >/dev/null 2>&1 || why="needs nft (nftables)"
		[ -n "$why" ] || unshare -n true 2>/dev/null || why="unshare -n does not work here"
		[ -n "$why" ] || [ -x "$VFBD" ] || why="$VFBD is not built"
		[ -n "$why" ] || [ -x "$FC" ] || why="$FC is not built"
		[ -n "$why" ] || [ -x "$STRESS" ] || why="$STRESS is not built"
		if [ -n "$why" ]; then
			if [ "${CI:-}" = true ]; then
				echo "not ok 1 - $(basename "$1"): $why"
				echo "1..1"
				exit 1
			fi
			echo "ok 1 - $(basename "$1") # SKIP $why"
			echo "1..1"
			exit 0
		fi
		script=$1
		shift
		VFBD_FAULT_NETNS=1 exec unshare -n sh "$script" "$@"
	fi
	ip link set lo up || exit 1
	nft add table inet vfbd_fault || exit 1
	nft add chain inet vfbd_fault input \
		'{ type filter hook input priority 0; policy accept; }' || exit 1
	tmp=$(mktemp -d /tmp/vfbd-fault.XXXXXX) || exit 1
	trap fault_cleanup EXIT
	trap 'exit 1' INT TERM
}

fault_cleanup() {
	for p in $bg_pids $vfbd_pid; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	if [ "$tap_bad" -eq 0 ]; then
		rm -rf "$tmp"
	else
		echo "# logs kept in $tmp"
	fi
}

# Ends the test: prints the plan; the exit status says whether all passed.
fault_done() {
	echo "1..$tap_n"
	[ "$tap_bad" -eq 0 ]
}

ok() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $*"
}

not_ok() {
	tap_n=$((tap_n + 1))
	tap_bad=$((tap_bad + 1))
	echo "not ok $tap_n - $*"
	# What vfbd said is the first thing a reader of a failure needs.
	if [ -n "${vfbd_log:-}" ] && [ -f "$vfbd_log" ]; then
		echo "# last lines of $vfbd_log:"
		tail -n 15 "$vfbd_log" | sed 's/^/#   /'
	fi
}

# check CONDITION_STATUS DESCRIPTION: ok when the previous command passed.
# Use as: [ "$x" -lt 5 ]; check $? "x is small ($x)"
check() {
	if [ "$1" -eq 0 ]; then
		shift
		ok "$@"
	else
		shift
		not_ok "$@"
	fi
}

now_ms() {
	date +%s%3N
}

# Milliseconds as seconds with two decimals: 3140 -> 3.14
secs() {
	printf '%d.%02d' $(($1 / 1000)) $((($1 % 1000) / 10))
}

# wait_for FILE EXTENDED-REGEX TIMEOUT_MS: true once a line matches.
wait_for() {
	deadline=$(($(now_ms) + $3))
	while ! grep -qE -- "$2" "$1" 2>/dev/null; do
		[ "$(now_ms)" -lt "$deadline" ] || return 1
		sleep "$POLL"
	done
}

# start_vfbd NAME ARGS...: runs vfbd with --listen 127.0.0.1:0 and a
# control socket; sets vfbd_pid, vfbd_log, vfbd_port, vfbd_ctl.
start_vfbd() {
	name=$1
	shift
	vfbd_log=$tmp/vfbd-$name.log
	vfbd_ctl=$tmp/ctl-$name
	"$VFBD" --listen 127.0.0.1:0 --control "$vfbd_ctl" "$@" \
		2>"$vfbd_log" &
	vfbd_pid=$!
	if ! wait_for "$vfbd_log" ' listening addr=127\.0\.0\.1:[0-9]+' 5000 ||
		! wait_for "$vfbd_log" ' control-listening ' 5000; then
		not_ok "vfbd $* did not start"
		return 1
	fi
	vfbd_port=$(sed -n 's/.* listening addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' \
		"$vfbd_log" | head -n 1)
}

stop_vfbd() {
	[ -n "$vfbd_pid" ] || return 0
	kill "$vfbd_pid" 2>/dev/null
	wait "$vfbd_pid" 2>/dev/null
	vfbd_pid=""
}

# client NAME MODE ARGS...: starts vfbd-faultclient in the background
# against the current vfbd; its output goes to $tmp/NAME.out.
client() {
	cname=$1
	shift
	# Emptied here, not by the background redirection, so that nobody
	# reads what an earlier client of the same name wrote.
	: >"$tmp/$cname.out"
	"$FC" "$@" --port "$vfbd_port" >>"$tmp/$cname.out" 2>&1 &
	bg_pids="$bg_pids $!"
	eval "${cname}_pid=$!"
}

# stop_client NAME: ends a background client (it may have exited).
stop_client() {
	eval "p=\${${1}_pid:-}"
	[ -n "$p" ] || return 0
	kill "$p" 2>/dev/null
	wait "$p" 2>/dev/null
}

# out NAME KEY: the value of the last KEY=value in a client's output.
out() {
	sed -n "s/.*\<$2=\([^ ]*\).*/\1/p" "$tmp/$1.out" | tail -n 1
}

# wait_out NAME REGEX TIMEOUT_MS
wait_out() {
	wait_for "$tmp/$1.out" "$2" "$3"
}

# client_id NAME: vfbd's id for a client (from its local port).
client_id() {
	cport=$(out "$1" port)
	[ -n "$cport" ] || return 1
	wait_for "$vfbd_log" "client-connected id=[0-9]+ peer=127\.[0-9.]+:$cport\$" 3000 ||
		return 1
	sed -n "s/.*client-connected id=\([0-9]*\) peer=127\.[0-9.]*:$cport\$/\1/p" \
		"$vfbd_log" | tail -n 1
}

# closed_reason ID: the reason vfbd logged for closing client ID, or "".
closed_reason() {
	sed -n "s/.*client-closed id=$1 .*reason=\([^ ]*\).*/\1/p" "$vfbd_log" |
		tail -n 1
}

# wait_closed ID TIMEOUT_MS: waits for vfbd's client-closed line of ID.
wait_closed() {
	wait_for "$vfbd_log" "client-closed id=$1 " "$2"
}

# vanish NAME: drops every packet of the client's 4-tuple, both ways, on
# the input hook.
vanish() {
	cport=$(out "$1" port)
	nft add rule inet vfbd_fault input ip saddr 127.0.0.0/8 \
		tcp sport "$cport" tcp dport "$vfbd_port" drop &&
		nft add rule inet vfbd_fault input ip saddr 127.0.0.0/8 \
			tcp sport "$vfbd_port" tcp dport "$cport" drop
}

# server_sendq NAME: bytes vfbd's socket to the client holds unacknowledged
# or unsent (ss Send-Q), or "" when there is no such socket.
server_sendq() {
	cport=$(out "$1" port)
	ss -tnH state established \
		"( sport = :$vfbd_port and dport = :$cport )" |
		awk 'NR == 1 { print $2 }'
}

status_json() {
	"$VFBDCTL" "$vfbd_ctl" status 2>/dev/null
}

# client_state ID: active | handshake | closing | gone, from vfbd's status.
client_state() {
	st=$(status_json | grep -oE "\{\"id\":$1,[^}]*\}" |
		sed -n 's/.*"state":"\([a-z]*\)".*/\1/p')
	echo "${st:-gone}"
}

vfbd_fds() {
	ls "/proc/$vfbd_pid/fd" | wc -l
}

# median of the numbers given as arguments (integers).
median() {
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
