#!/bin/sh
# Lifecycle: every way a client can stop being there ends with the right
# close reason, within the documented bound (design/lifecycle.md):
#   vanished, idle            -> keepalive      <= keepalive budget + 1 s
#   vanished, data in flight  -> user-timeout   <= user timeout + 1 s
#   alive, not reading        -> write-stall    <= stall timeout + 1 s
#   no input                  -> idle-timeout   <= idle timeout + 1 s
# Bounds are asserted with MARGIN_MS on top, for a busy 2-core machine.
# shellcheck source=tests/fault/lib/fault.sh
. "$(dirname "$0")/lib/fault.sh"
fault_setup "$0" "$@"

MARGIN_MS=1000

# bound_check REASON WANT DT_MS BOUND_MS WHAT
bound_check() {
	[ "$1" = "$2" ] && [ "$3" -le $(($4 + MARGIN_MS)) ]
	check $? "$5 freed by $1 in $(secs "$3") s (bound $(secs "$4") s, want $2)"
}

# A vanished client is measured from the moment its packets start to drop
# to the moment vfbd logs its close.
# Send-Q of vfbd's socket just after the drop tells the two cases apart:
# 0 for an idle client, unacknowledged bytes for one with data in flight.
vanished_case() { # NAME WANT BOUND_MS WHAT SENDQ(zero|nonzero)
	id=$(client_id "$1")
	state=$(client_state "$id")
	[ "$state" = active ]
	check $? "$4: client $id is active before it vanishes ($state)"
	vanish "$1"
	t0=$(now_ms)
	sleep 0.05
	sendq=$(server_sendq "$1")
	if [ "$5" = zero ]; then
		[ "${sendq:-x}" = 0 ]
	else
		[ "${sendq:-0}" -gt 0 ]
	fi
	check $? "$4: vfbd's socket holds ${sendq:-?} unacknowledged bytes at the drop (want $5)"
	wait_closed "$id" 15000
	dt=$(($(now_ms) - t0))
	bound_check "$(closed_reason "$id")" "$2" "$dt" "$3" "$4"
	stop_client "$1"
}

# 1. Keepalive: the client read its frame and asks for nothing more, so
# vfbd has nothing in flight when the path goes dark. With 1,1,2 the
# budget is 1 + 1 x 2 = 3 s (TCP_USER_TIMEOUT 3 s is the same).
start_vfbd keepalive --source demo:static --keepalive 1,1,2 \
	--user-timeout 3 --stall-timeout 3 --handshake-timeout 2
client a idle --hold 30
wait_out a '^ready' 5000
sleep 0.5
vanished_case a keepalive 4000 "vanished idle client" zero
stop_vfbd

# 2. User timeout: frames flow back to back (one request always ahead),
# so when the path goes dark vfbd has unacknowledged bytes in flight and
# keepalive cannot fire. The stall watchdog is set well above the user
# timeout so that only one mechanism can be the first.
start_vfbd user-timeout --source demo:320x240 --keepalive 1,1,2 \
	--user-timeout 3 --stall-timeout 10 --handshake-timeout 2
client b stream --hold 30
wait_out b '^frames=' 5000
sleep 0.3
vanished_case b user-timeout 4000 \
	"vanished client with data in flight" nonzero
stop_vfbd

# 3. Write stall: the client is alive (its kernel answers window probes)
# but never reads. With the full-size demo the backlog (two 3 MiB frames)
# exceeds what the kernel takes, so it waits in vfbd's own queue. With a
# small demo the whole backlog fits in the kernel's send buffer and vfbd's
# queue is empty: the watchdog must still see that nothing is acked. The
# user timeout is set well above the stall timeout.
for src in demo:static demo:320x240:static; do
	start_vfbd "stall-$src" --source "$src" --keepalive 1,1,2 \
		--user-timeout 10 --stall-timeout 3 --handshake-timeout 2
	client c noread --rcvbuf 4096 --requests 8 --hold 30
	wait_out c '^ready' 5000
	t0=$(sed -n 's/^ready t_ms=//p' "$tmp/c.out")
	id=$(client_id c)
	wait_closed "$id" 15000
	dt=$(($(now_ms) - t0))
	bound_check "$(closed_reason "$id")" write-stall "$dt" 4000 \
		"non-reading client ($src)"
	stop_client c
	stop_vfbd
done

# 9. Idle timeout: one client asks for frames but never types or moves
# the pointer; another moves the pointer every 300 ms and must stay.
start_vfbd idle --source demo:320x240 --share shared --idle-timeout 2 \
	--keepalive 1,1,2 --user-timeout 3 --stall-timeout 3
client d stream --interval 200 --hold 30
client e stream --interval 200 --input-interval 300 --hold 30
wait_out d '^ready' 5000
wait_out e '^ready' 5000
t0=$(sed -n 's/^ready t_ms=//p' "$tmp/d.out")
id_d=$(client_id d)
id_e=$(client_id e)
wait_closed "$id_d" 10000
dt=$(($(now_ms) - t0))
bound_check "$(closed_reason "$id_d")" idle-timeout "$dt" 3000 \
	"client without input"
sleep 1.5
state=$(client_state "$id_e")
frames=$(out e frames)
[ "$state" = active ] && [ -z "$(closed_reason "$id_e")" ] &&
	[ "${frames:-0}" -ge 10 ]
check $? "client with input still active after 3.5 s ($state, $frames frames)"
stop_vfbd

fault_done
