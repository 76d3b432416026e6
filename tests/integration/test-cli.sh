#!/bin/sh
# The command line contract of design/cli.md, against the real binary:
# --help/--version, usage errors (exit 1, the message names the option),
# sources that cannot be opened here (exit 2), every kind of listener
# (TCP v4/v6, unix socket, xl's --vnclisten/--vncdisplay/--vncunused), and
# SIGTERM/SIGINT (exit 0, connected clients closed for "shutdown").
# Prints TAP. Run from the repository root; $VFBD is the binary.
set -u
VFBD=${VFBD:-build/vfbd}
n=0
failures=0
pids=""
tmp=$(mktemp -d /tmp/vfbd-cli-XXXXXX)

cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}

not_ok() {
	n=$((n + 1))
	failures=$((failures + 1))
	echo "not ok $n - $1"
	shift
	for line in "$@"; do
		echo "# $line"
	done
}

# check DESC COMMAND...: one TAP line for whether COMMAND succeeds.
check() {
	desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# A small client: connect to a TCP (v4/v6) or unix address and read the
# server version ("version"), or complete a 3.8 None handshake, say
# "ready", and wait for the server to close ("hold").
cat >"$tmp/client.py" <<'EOF'
import socket, sys
kind, addr, mode = sys.argv[1], sys.argv[2], sys.argv[3]
if kind == "unix":
    s = socket.socket(socket.AF_UNIX)
    s.connect(addr)
else:
    host, port = addr.rsplit(":", 1)
    fam = socket.AF_INET6 if kind == "tcp6" else socket.AF_INET
    s = socket.socket(fam)
    s.connect((host.strip("[]"), int(port)))
s.settimeout(10)

def read(n):
    b = b""
    while len(b) < n:
        d = s.recv(n - len(b))
        if not d:
            raise SystemExit("eof after %r" % b)
        b += d
    return b

v = read(12)
if mode == "version":
    print(v.decode().strip())
    sys.exit(0)
s.sendall(b"RFB 003.008\n")
assert read(2) == b"\x01\x01", "security list"
s.sendall(b"\x01")
assert read(4) == b"\0\0\0\0", "security result"
s.sendall(b"\x01")
init = read(24)
read(int.from_bytes(init[20:24], "big"))
print("ready", flush=True)
try:
    while s.recv(65536):
        pass
    print("eof", flush=True)
except ConnectionResetError:
    print("reset", flush=True)
EOF

# run_vfbd ARGS...: runs vfbd to completion (at most 5 s); sets $status
# and leaves stderr in $tmp/err.
run_vfbd() {
	timeout 5 "$VFBD" "$@" >"$tmp/out" 2>"$tmp/err"
	status=$?
}

# start_vfbd LOG ARGS...: vfbd in the background; sets $pid.
start_vfbd() {
	log=$1
	shift
	"$VFBD" "$@" 2>"$log" &
	pid=$!
	pids="$pids $pid"
}

# wait_log LOG PATTERN: until a line of LOG matches (grep -E), 10 s at most.
wait_log() {
	i=0
	while [ $i -lt 200 ]; do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || { grep -Eq -- "$2" "$1"; return; }
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

# The address in the log's listening line.
listen_addr() {
	sed -n 's/.* listening addr=\([^ ]*\).*/\1/p' "$1" | head -n 1
}

# stop_vfbd SIGNAL: signals $pid and waits; sets $status (124: did not
# exit within 5 s).
stop_vfbd() {
	kill -s "$1" "$pid" 2>/dev/null
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -s KILL "$pid"
		wait "$pid" 2>/dev/null
		status=124
	else
		wait "$pid"
		status=$?
	fi
	forget "$pid"
}

# Once reaped, a pid may be reused: the cleanup must not signal it.
forget() {
	pids=$(echo " $pids " | sed "s/ $1 / /")
}

# --help and --version.
run_vfbd --help
check "--help exits 0" [ "$status" -eq 0 ]
missing=""
for opt in --source --domid --listen --vnclisten --vncdisplay --vncunused \
	--password-file --share --max-clients --view-only --keepalive \
	--user-timeout --stall-timeout --handshake-timeout --idle-timeout \
	--keymap --control --log-level --version --help; do
	grep -q -- "$opt" "$tmp/out" || missing="$missing $opt"
done
for word in demo shm: xen-pv: takeover shared exclusive unix: "\[::1\]"; do
	grep -q -- "$word" "$tmp/out" || missing="$missing $word"
done
if [ -z "$missing" ]; then
	ok "--help lists every option of cli.md"
else
	not_ok "--help lists every option of cli.md" "missing:$missing"
fi

run_vfbd --version
if [ "$status" -eq 0 ] && grep -Eq '^vfbd [0-9]' "$tmp/out"; then
	ok "--version prints 'vfbd VERSION' and exits 0"
else
	not_ok "--version prints 'vfbd VERSION' and exits 0" \
		"status $status, output: $(cat "$tmp/out")"
fi

# usage_error OPTION ARGS...: exit 1, and stderr names OPTION.
usage_error() {
	opt=$1
	shift
	run_vfbd "$@"
	if [ "$status" -eq 1 ] && grep -q -- "$opt" "$tmp/err"; then
		ok "$* -> exit 1 naming $opt"
	else
		not_ok "$* -> exit 1 naming $opt" "status $status" \
			"stderr: $(cat "$tmp/err")"
	fi
}

# Each with a valid --listen, so that only the bad value can fail (and
# a wrongly accepted one does not take port 5900).
L="--listen 127.0.0.1:0"
usage_error --bogus --bogus $L
usage_error --frobnicate --source demo --frobnicate=1 $L
usage_error --share --share $L
usage_error --listen --listen nonsense
usage_error --listen --listen 1.2.3.4:99999
usage_error --listen --listen 127.0.0.1:-1
usage_error --listen --listen 127.0.0.1:
usage_error --listen --listen unix:
usage_error --keepalive --keepalive 1,2 $L
usage_error --keepalive --keepalive 1,2,3,4 $L
usage_error --keepalive --keepalive 0,5,3 $L
usage_error --keepalive --keepalive a,b,c $L
usage_error --share --share bogus $L
usage_error --log-level --log-level loud $L
usage_error --max-clients --max-clients 0 $L
usage_error --max-clients --max-clients many $L
usage_error --handshake-timeout --handshake-timeout 0 $L
usage_error --user-timeout --user-timeout -5 $L
usage_error --stall-timeout --stall-timeout 1e3 $L
usage_error --idle-timeout --idle-timeout 10s $L
usage_error --keymap --keymap xx-nonexistent $L
usage_error --domid --domid abc $L
usage_error --domid --domid 0 $L
usage_error --vncdisplay --vncdisplay -1
usage_error --vncdisplay --vncdisplay 70000
usage_error --source --source demo:10x10 $L
usage_error --source --source demo:100000x100000 $L
usage_error --source --source demo:640x480:moving $L
usage_error --source --source foo:1 $L
usage_error --password-file --password-file "$tmp/does-not-exist" $L
run_vfbd --source demo $L unexpected-argument
check "a stray argument -> exit 1" [ "$status" -eq 1 ]

# Sources that exist in the syntax but cannot be opened on this machine.
for spec in "--source xen-pv:1" "--domid 1" "--source xen-pv:1:2" \
	"--source xen-hvm:1" "--source shm:$tmp/no-such-shm"; do
	# shellcheck disable=SC2086
	run_vfbd $spec $L
	if [ "$status" -eq 2 ] && [ -s "$tmp/err" ]; then
		ok "$spec -> exit 2 with a message"
	else
		not_ok "$spec -> exit 2 with a message" "status $status" \
			"stderr: $(cat "$tmp/err")"
	fi
done

# A unix socket listener: logged, connectable, removed at exit, and a
# stale socket from a killed run does not block the next start. A
# regular file at that path is never removed.
sock="$tmp/vfbd.sock"
start_vfbd "$tmp/unix.log" --source demo:static --listen "unix:$sock"
if wait_log "$tmp/unix.log" "listening addr=unix:$sock\$" && [ -S "$sock" ]; then
	ok "--listen unix:PATH listens there"
else
	not_ok "--listen unix:PATH listens there" "$(cat "$tmp/unix.log")"
fi
v=$(python3 "$tmp/client.py" unix "$sock" version 2>&1)
check "a client on the unix socket gets 'RFB 003.008'" [ "$v" = "RFB 003.008" ]
check "the unix client is logged as connected" \
	wait_log "$tmp/unix.log" "client-connected id=1 peer=unix"
stop_vfbd TERM
check "SIGTERM -> exit 0 (unix listener)" [ "$status" -eq 0 ]
check "the socket file is removed at exit" [ ! -e "$sock" ]

start_vfbd "$tmp/unix2.log" --source demo:static --listen "unix:$sock"
wait_log "$tmp/unix2.log" "listening addr=" || true
kill -s KILL "$pid"
wait "$pid" 2>/dev/null
forget "$pid"
start_vfbd "$tmp/unix3.log" --source demo:static --listen "unix:$sock"
check "a stale socket left by a killed vfbd does not block a restart" \
	wait_log "$tmp/unix3.log" "listening addr=unix:$sock\$"
stop_vfbd TERM

echo "precious" >"$tmp/regular"
run_vfbd --source demo:static --listen "unix:$tmp/regular"
if [ "$status" -eq 1 ] && grep -q -- --listen "$tmp/err" &&
	[ "$(cat "$tmp/regular")" = "precious" ]; then
	ok "unix:PATH on a regular file -> exit 1, the file untouched"
else
	not_ok "unix:PATH on a regular file -> exit 1, the file untouched" \
		"status $status" "stderr: $(cat "$tmp/err")"
fi

# IPv6 loopback with a kernel-chosen port.
start_vfbd "$tmp/v6.log" --source demo:static --listen "[::1]:0"
if wait_log "$tmp/v6.log" 'listening addr=\[::1\]:[1-9][0-9]*$'; then
	ok "--listen [::1]:0 logs [::1]:PORT"
	v=$(python3 "$tmp/client.py" tcp6 "$(listen_addr "$tmp/v6.log")" \
		version 2>&1)
	check "a client on [::1] gets 'RFB 003.008'" [ "$v" = "RFB 003.008" ]
else
	not_ok "--listen [::1]:0 logs [::1]:PORT" "$(cat "$tmp/v6.log")"
	not_ok "a client on [::1] gets 'RFB 003.008'"
fi
stop_vfbd TERM

# Two --listen options: both listen.
start_vfbd "$tmp/two.log" --source demo:static --listen 127.0.0.1:0 \
	--listen "unix:$tmp/two.sock"
wait_log "$tmp/two.log" "listening addr=unix:" || true
check "two --listen options give two listening lines" \
	[ "$(grep -c ' listening addr=' "$tmp/two.log")" -eq 2 ]
stop_vfbd TERM

# xl style. A port the kernel just handed out and that is free again is
# the display to ask for.
start_vfbd "$tmp/probe.log" --source demo:static --listen 127.0.0.1:0
wait_log "$tmp/probe.log" "listening addr=" || true
port=$(listen_addr "$tmp/probe.log")
port=${port##*:}
stop_vfbd TERM
display=$((port - 5900))
start_vfbd "$tmp/xl.log" --source demo:static --vnclisten 127.0.0.1 \
	--vncdisplay "$display"
if wait_log "$tmp/xl.log" "listening addr=127.0.0.1:$port\$"; then
	ok "--vnclisten 127.0.0.1 --vncdisplay $display listens on $port"
else
	not_ok "--vnclisten 127.0.0.1 --vncdisplay $display listens on $port" \
		"$(cat "$tmp/xl.log")"
fi
v=$(python3 "$tmp/client.py" tcp "127.0.0.1:$port" version 2>&1)
check "a client on 5900+N gets 'RFB 003.008'" [ "$v" = "RFB 003.008" ]
busy_pid=$pid

# While that one holds the port: the same display again is an error
# naming the xl options; with --vncunused the next free port is taken.
run_vfbd --source demo:static --vnclisten 127.0.0.1 --vncdisplay "$display"
if [ "$status" -eq 1 ] && grep -q -- "--vnc" "$tmp/err"; then
	ok "a busy --vncdisplay -> exit 1 naming --vnclisten/--vncdisplay"
else
	not_ok "a busy --vncdisplay -> exit 1 naming --vnclisten/--vncdisplay" \
		"status $status" "stderr: $(cat "$tmp/err")"
fi
start_vfbd "$tmp/unused.log" --source demo:static --vnclisten 127.0.0.1 \
	--vncdisplay "$display" --vncunused
wait_log "$tmp/unused.log" "listening addr=" || true
got=$(listen_addr "$tmp/unused.log")
got=${got##*:}
if [ -n "$got" ] && [ "$got" -gt "$port" ]; then
	ok "--vncunused skips busy $port (took $got)"
	v=$(python3 "$tmp/client.py" tcp "127.0.0.1:$got" version 2>&1)
	check "a client on the --vncunused port gets 'RFB 003.008'" \
		[ "$v" = "RFB 003.008" ]
else
	not_ok "--vncunused skips busy $port" "$(cat "$tmp/unused.log")"
	not_ok "a client on the --vncunused port gets 'RFB 003.008'"
fi
stop_vfbd TERM
pid=$busy_pid
stop_vfbd TERM

# SIGTERM and SIGINT with an authenticated client connected: exit 0, the
# client closed for "shutdown" and told so by the connection's end.
for sig in TERM INT; do
	start_vfbd "$tmp/sig-$sig.log" --source demo:static --listen 127.0.0.1:0
	wait_log "$tmp/sig-$sig.log" "listening addr=" || true
	addr=$(listen_addr "$tmp/sig-$sig.log")
	python3 "$tmp/client.py" tcp "$addr" hold >"$tmp/hold-$sig.out" 2>&1 &
	cpid=$!
	wait_log "$tmp/sig-$sig.log" "client-authenticated id=1 " || true
	i=0
	while ! grep -q ready "$tmp/hold-$sig.out" && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	stop_vfbd "$sig"
	check "SIG$sig -> exit 0" [ "$status" -eq 0 ]
	check "SIG$sig: the client is closed with reason=shutdown" \
		grep -Eq "client-closed id=1 peer=127\.0\.0\.1:[0-9]+ reason=shutdown bytes_out=[0-9]+ duration_ms=[0-9]+" \
		"$tmp/sig-$sig.log"
	wait "$cpid"
	check "SIG$sig: the client saw the connection end" \
		grep -Eq "^(eof|reset)$" "$tmp/hold-$sig.out"
done

echo "1..$n"
[ "$failures" -eq 0 ]
