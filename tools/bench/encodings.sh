#!/bin/sh
# Encodings vs LibVNCServer and Neat VNC (make bench; issue 5).
#
#   sh tools/bench/encodings.sh [BUILD]      run from the top of the tree
#
# For each workload, fbfeed draws into one shm file at BENCH_RATE frames/s
# and three servers serve that same file: vfbd, ref-vncserver
# (LibVNCServer) and ref-neatvnc (Neat VNC, built here with its own flags
# when libneatvnc-dev is installed). Each server reads the file only while
# a client is connected, so only the server being measured works.
# vfbd-encbench connects to one server at a time, asks for one encoding
# and measures updates/s, bytes per update (counted at the client's socket)
# and the server's CPU per update (its CPU-time clock) over BENCH_SECONDS.
# Runs rotate over the servers, BENCH_RUNS times; each figure is the median.
#
# After the runs of a workload the producer stops and every server's last
# frame is decoded and compared with the file ("picture": exact, or how
# many pixels differ and by how much at most, which JPEG may do).
#
# An encoding a server does not have is probed first and shown as n/a
# (the server would fall back to raw): vfbd's debug log, LibVNCServer's
# client-gone line and Neat VNC's "Choosing" line say what was served.
#
# vfbd's longest loop stall: when its control socket's status has
# loop_max_stall_ms (wall clock) and loop_max_stall_cpu_ms (the loop
# thread's CPU time, which a busy machine does not inflate), they are
# reset before each vfbd run and read after it; the table shows the
# largest of the runs, as "wall / CPU". Each run connects
# anew, so on the 1920x1080 workloads (typing, window) it includes a
# full-screen update; video is a 1280x720 full-screen update every frame.
#
# Environment: BENCH_SECONDS (5), BENCH_RUNS (3), BENCH_RATE (30),
# BENCH_COMPRESS (2: TigerVNC's and noVNC's default), BENCH_QUALITY (9:
# the JPEG quality level of the tight+jpeg rows; Neat VNC 0.5.4 sends JPEG
# only for levels 0 and 9), BENCH_WORKLOADS ("console typing window video"),
# BENCH_ENCODINGS ("raw hextile zlib zrle tight"; video adds tight+jpeg),
# BENCH_COPYRECT (1: the client offers CopyRect too, as every viewer does;
# 0 compares the encoders alone).
set -eu

build=${1:-build}
secs=${BENCH_SECONDS:-5}
runs=${BENCH_RUNS:-3}
rate=${BENCH_RATE:-30}
compress=${BENCH_COMPRESS:-2}
quality=${BENCH_QUALITY:-9}
workloads=${BENCH_WORKLOADS:-console typing window video}
encodings=${BENCH_ENCODINGS:-raw hextile zlib zrle tight}
copyrect=${BENCH_COPYRECT:-1}
root=$(cd "$(dirname "$0")/../.." && pwd)
bench="$build/tools/vfbd-encbench"

for f in "$build/vfbd" "$build/tools/fbfeed" "$build/tools/ref-vncserver" "$bench"; do
	if [ ! -x "$f" ]; then
		echo "encodings: $f is missing (make all first)" >&2
		exit 1
	fi
done

tmp=$(mktemp -d /tmp/vfbd-encodings.XXXXXX)
shm=/dev/shm/vfbd-encodings-$$
pids=""
cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null || true
	done
	for p in $pids; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$tmp"
	rm -f "$shm"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Neat VNC is linked only here (see tools/ref-neatvnc.c).
servers="vfbd libvncserver"
nvnc="$build/bench/ref-neatvnc"
if [ -f /usr/include/neatvnc.h ] && pkg-config --exists pixman-1 aml; then
	mkdir -p "$build/bench"
	# shellcheck disable=SC2046
	if ${CC:-cc} -std=gnu11 -O2 -g -Wall -Wextra -Werror \
		-Wno-unused-parameter -Wshadow -Wstrict-prototypes \
		-Wmissing-prototypes -Wformat=2 -Wundef -Wpointer-arith -Wvla \
		-D_GNU_SOURCE -DVFBD_WITH_NEATVNC -I"$root" -I"$build/gen" \
		-o "$nvnc" "$root/tools/ref-neatvnc.c" "$build/libvfbd.a" \
		$(pkg-config --cflags --libs pixman-1 aml) -lneatvnc \
		-luv -lz -lpthread -lm 2>"$tmp/neatvnc-build.log"; then
		servers="$servers neatvnc"
	else
		echo "encodings: ref-neatvnc did not build; Neat VNC skipped:" >&2
		cat "$tmp/neatvnc-build.log" >&2
	fi
else
	echo "encodings: libneatvnc-dev not installed; Neat VNC skipped" >&2
fi

enc_number() {
	case $1 in
	raw) echo 0 ;;
	hextile) echo 5 ;;
	zlib) echo 6 ;;
	zrle) echo 16 ;;
	tight | tight+jpeg) echo 7 ;;
	*) echo -1 ;;
	esac
}

# The encoding number the server last chose for a client, from its log.
served_encoding() {
	log="$tmp/$1.log"
	case $1 in
	vfbd) sed -n 's/.*client-encodings .*chosen=\(-\{0,1\}[0-9]*\).*/\1/p' "$log" | tail -n 1 ;;
	libvncserver) sed -n 's/.*client-gone encoding=\(-\{0,1\}[0-9]*\).*/\1/p' "$log" | tail -n 1 ;;
	neatvnc) enc_number "$(sed -n 's/.*Choosing \([a-z0-9-]*\) encoding.*/\1/p' "$log" | tail -n 1)" ;;
	esac
}

start_server() {
	log="$tmp/$1.log"
	: >"$log"
	case $1 in
	vfbd)
		"$build/vfbd" --source "shm:$shm" --listen 127.0.0.1:0 \
			--log-level debug --control "$tmp/vfbd.ctl" 2>"$log" &
		;;
	libvncserver)
		"$build/tools/ref-vncserver" --shm "$shm" --port 0 2>"$log" &
		;;
	neatvnc)
		"$nvnc" --shm "$shm" --port 0 2>"$log" &
		;;
	esac
	pid=$!
	pids="$pids $pid"
	eval "pid_$1=$pid"
	i=0
	until grep -q 'listening addr=' "$log"; do
		i=$((i + 1))
		if [ $i -gt 200 ] || ! kill -0 "$pid" 2>/dev/null; then
			echo "encodings: $1 did not start:" >&2
			cat "$log" >&2
			exit 1
		fi
		sleep 0.05
	done
	eval "port_$1=$(sed -n 's/.*listening addr=[^ ]*:\([0-9][0-9]*\).*/\1/p' "$log" | head -n 1)"
}

stop_pid() {
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	rest=""
	for p in $pids; do
		[ "$p" = "$1" ] || rest="$rest $p"
	done
	pids=$rest
}

# vfbd's loop_max_stall_ms from its control socket, if it reports one.
ctl() {
	sh "$root/tools/vfbdctl" "$tmp/vfbd.ctl" "$@" 2>/dev/null || true
}
loop_stall() {
	st=$(ctl status)
	for key in loop_max_stall_ms loop_max_stall_cpu_ms; do
		echo "$st" | sed -n "s/.*\"$key\":\([0-9.]*\).*/ $key=\1/p"
	done | tr -d '\n'
}

# run SERVER ENC LABEL SECONDS WARMUP [ARGS]: one vfbd-encbench run; its
# line, plus vfbd's longest loop stall during the run (connection, first
# full update and the window) when vfbd reports it.
run() {
	port=$(eval "echo \"\$port_$1\"")
	pid=$(eval "echo \"\$pid_$1\"")
	q=""
	[ "$3" = tight+jpeg ] && q="--quality $quality"
	[ "$copyrect" = 1 ] || q="$q --no-copyrect"
	[ "$1" = vfbd ] && ctl reset-stats >/dev/null
	r_srv=$1 r_enc=$2 r_secs=$4 r_warm=$5
	shift 5
	# shellcheck disable=SC2086
	out=$("$bench" --server "127.0.0.1:$port" --encoding "$r_enc" \
		--compress "$compress" $q --seconds "$r_secs" \
		--warmup "$r_warm" --pid "$pid" "$@" \
		2>>"$tmp/bench-errors.log" || true)
	if [ -n "$out" ] && [ "$r_srv" = vfbd ]; then
		out="$out$(loop_stall)"
	fi
	echo "$out"
}

echo "encodings: servers: $servers; $runs runs of ${secs}s per figure;" \
	"producer at $rate fps; compress level $compress," \
	"tight+jpeg at quality level $quality; CopyRect offered: $copyrect"
results="$tmp/results"
: >"$results"
: >"$tmp/verify"
probed=""
for wl in $workloads; do
	rm -f "$shm"
	"$build/tools/fbfeed" "$shm" --workload "$wl" --rate "$rate" \
		>"$tmp/fbfeed.log" 2>&1 &
	feed=$!
	pids="$pids $feed"
	i=0
	until [ -f "$shm" ]; do
		i=$((i + 1))
		[ $i -le 100 ] || { echo "encodings: fbfeed did not start" >&2; exit 1; }
		sleep 0.05
	done
	for s in $servers; do
		start_server "$s"
	done
	list=$encodings
	[ "$wl" = video ] && list="$list tight+jpeg"
	# Which encodings each server really has: a short probe, once.
	if [ -z "$probed" ]; then
		for label in $encodings tight+jpeg; do
			e=${label%+jpeg}
			for s in $servers; do
				run "$s" "$e" "$label" 0.2 0 >/dev/null
				sleep 0.2
				got=$(served_encoding "$s")
				if [ "$got" != "$(enc_number "$e")" ]; then
					eval "na_${s}_$e=1"
				fi
			done
		done
		probed=1
	fi
	for label in $list; do
		e=${label%+jpeg}
		for r in $(seq "$runs"); do
			for s in $servers; do
				if eval "[ -n \"\${na_${s}_$e:-}\" ]"; then
					[ "$r" = 1 ] && echo "$wl $label $s n/a" >>"$results"
					continue
				fi
				line=$(run "$s" "$e" "$label" "$secs" 1)
				if [ -n "$line" ]; then
					echo "$wl $label $s $line" >>"$results"
				else
					echo "$wl $label $s failed" >>"$results"
				fi
			done
		done
	done
	# The picture check: with the producer stopped, each server's last
	# frame must decode to the file's pixels (JPEG: close to them).
	stop_pid "$feed"
	for label in $list; do
		e=${label%+jpeg}
		for s in $servers; do
			eval "[ -z \"\${na_${s}_$e:-}\" ]" || continue
			line=$(run "$s" "$e" "$label" 0.5 0.5 --verify "$shm")
			echo "$wl $label $s $line" >>"$tmp/verify"
		done
	done
	for s in $servers; do
		eval "stop_pid \$pid_$s"
	done
	rm -f "$tmp/vfbd.ctl"
done

# One table: medians over the runs of each figure.
awk -v runs="$runs" '
function median(s,    a, n, i, j, t) {
	n = split(s, a, " ")
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
		}
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function maxof(s,    a, n, i, m) {
	n = split(s, a, " ")
	m = a[1]
	for (i = 2; i <= n; i++)
		if (a[i] + 0 > m + 0)
			m = a[i]
	return m
}
{
	k = $1 SUBSEP $2 SUBSEP $3
	if (FILENAME ~ /verify$/) {
		for (i = 4; i <= NF; i++) {
			split($i, kv, "=")
			if (kv[1] == "verify_wrong") vw[k] = kv[2]
			if (kv[1] == "verify_max_diff") vm[k] = kv[2]
		}
		next
	}
	if (!(k in seen)) { seen[k] = 1; order[++nk] = k }
	if ($4 == "n/a" || $4 == "failed") { state[k] = $4; next }
	for (i = 4; i <= NF; i++) {
		split($i, kv, "=")
		v[k, kv[1]] = v[k, kv[1]] " " kv[2]
	}
	got[k]++
}
END {
	printf "| workload | encoding | server | updates/s | bytes/update | pixels/update | kB/s | CPU ms/update | CPU %% | loop stall ms wall / CPU | picture |\n"
	printf "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n"
	for (i = 1; i <= nk; i++) {
		k = order[i]
		split(k, f, SUBSEP)
		if (!got[k]) {
			printf "| %s | %s | %s | %s | | | | | | | |\n", f[1], f[2], f[3], state[k]
			continue
		}
		b = median(v[k, "bytes_per_update"])
		c = median(v[k, "cpu_ms_per_update"])
		st = v[k, "loop_max_stall_ms"] == "" ? "" : sprintf("%.1f", maxof(v[k, "loop_max_stall_ms"]))
		if (v[k, "loop_max_stall_cpu_ms"] != "")
			st = st sprintf(" / %.1f", maxof(v[k, "loop_max_stall_cpu_ms"]))
		if (!(k in vw))
			pic = "not checked"
		else if (vw[k] == 0)
			pic = "exact"
		else
			pic = sprintf("%d px differ, max %d", vw[k], vm[k])
		printf "| %s | %s | %s | %.1f | %.0f | %.0f | %.0f | %.3f | %.1f | %s | %s |\n",
			f[1], f[2], f[3], median(v[k, "updates_per_s"]), b,
			median(v[k, "pixels_per_update"]),
			median(v[k, "kbytes_per_s"]), c, median(v[k, "cpu_pct"]), st, pic
		if (got[k] < runs)
			printf "|   | (%d of %d runs) | | | | | | | | | |\n", got[k], runs
		bytes[k] = b; cpu[k] = c
	}
	# The targets of issue 5: on console and window, vfbd sends no more
	# bytes than the best other server and spends less CPU per update.
	print ""
	for (i = 1; i <= nk; i++) {
		k = order[i]
		split(k, f, SUBSEP)
		if (f[3] != "vfbd" || !(k in bytes) || (f[1] != "console" && f[1] != "window"))
			continue
		bb = ""; bc = ""
		for (j = 1; j <= nk; j++) {
			o = order[j]
			split(o, g, SUBSEP)
			if (g[1] != f[1] || g[2] != f[2] || g[3] == "vfbd" || !(o in bytes))
				continue
			if (bb == "" || bytes[o] < bb) { bb = bytes[o]; bn = g[3] }
			if (bc == "" || cpu[o] < bc) { bc = cpu[o]; cn = g[3] }
		}
		if (bb == "")
			continue
		printf "target %s %s: bytes/update %.0f vs best %.0f (%s): %s; CPU ms/update %.3f vs best %.3f (%s): %s\n",
			f[1], f[2], bytes[k], bb, bn, bytes[k] <= bb ? "meets" : "misses",
			cpu[k], bc, cn, cpu[k] < bc ? "meets" : "misses"
	}
}' "$tmp/verify" "$results"
if [ -s "$tmp/bench-errors.log" ]; then
	echo "encodings: vfbd-encbench errors:"
	sort "$tmp/bench-errors.log" | uniq -c
fi
