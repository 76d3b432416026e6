#!/bin/sh
# Lifecycle: 100 stalled half-handshakes (part of the version, or nothing
# at all) keep neither the current user nor the rightful newcomer out
# (design/lifecycle.md, T_slowloris < 0.5 s, no session lost). Each ends
# with reason=handshake-timeout, by the deadline or by pre-auth eviction,
# and vfbd's descriptors come back to where they were.
# shellcheck source=tests/fault/lib/fault.sh
. "$(dirname "$0")/lib/fault.sh"
fault_setup "$0" "$@"

N=100
HANDSHAKE_S=2
BOUND_MS=500
MARGIN_MS=1000

start_vfbd slowloris --handshake-timeout $HANDSHAKE_S --keepalive 1,1,2 \
	--user-timeout 3 --stall-timeout 3
fds0=$(vfbd_fds)

client a stream --interval 200 --hold 30
wait_out a '^frames=' 5000
id_a=$(client_id a)

"$STRESS" --port "$vfbd_port" --slowloris $N --seconds 10 \
	>"$tmp/loris.out" 2>&1 &
loris_pid=$!
bg_pids="$bg_pids $loris_pid"
wait_for "$tmp/loris.out" '^slowloris: ready' 5000
opened=$(sed -n 's/^slowloris: ready opened=\([0-9]*\).*/\1/p' "$tmp/loris.out")
[ "${opened:-0}" -eq $N ]
check $? "$N half-handshakes open ($opened)"

before=$(out a frames)
sleep 1
after=$(out a frames)
[ "$(client_state "$id_a")" = active ] &&
	[ "${after:-0}" -ge $((${before:-0} + 3)) ]
check $? "the current session is untouched during the flood (frames $before -> $after in 1 s)"

# The rightful user comes back while the flood holds its sockets.
client r idle --hold 3
wait_out r '^(ready|first_frame=|result=[a-z-]+ )' 5000
t=$(out r first_frame_ms)
t_ms=$(awk -v t="${t:-99999}" 'BEGIN { print int(t) + 1 }')
[ "$(out r full)" = 1 ] && [ "$t_ms" -lt $BOUND_MS ]
check $? "rightful client gets in during the flood: connect -> first full frame ${t:-none} ms (bound $BOUND_MS ms)"
wait_closed "$id_a" 2000
reason=$(closed_reason "$id_a")
[ "$reason" = takeover ]
check $? "the old session ends only by the newcomer's takeover (reason=$reason)"

# Every half-handshake is closed by vfbd within the deadline.
wait "$loris_pid"
line=$(grep '^slowloris: opened=' "$tmp/loris.out")
closed=$(echo "$line" | sed -n 's/.*closed_by_server=\([0-9]*\).*/\1/p')
max_ms=$(echo "$line" | sed -n 's/.*close_ms_max=\([0-9]*\).*/\1/p')
bound=$((HANDSHAKE_S * 1000 + 1000))
[ "${closed:-0}" -eq $N ] && [ "${max_ms:-99999}" -le $((bound + MARGIN_MS)) ]
check $? "all $N half-handshakes closed by vfbd ($closed), the last after $(secs "${max_ms:-0}") s (bound $(secs $bound) s)"
n_hs=$(grep -c 'client-closed .* reason=handshake-timeout ' "$vfbd_log")
n_ev=$(grep -c 'client-preauth-evicted ' "$vfbd_log")
[ "$n_hs" -eq $N ]
check $? "vfbd logged reason=handshake-timeout $n_hs times ($n_ev by pre-auth eviction)"

# Back to the baseline once the rightful client left too.
stop_client r
wait_closed "$(client_id r)" 5000
fds=$(vfbd_fds)
for _ in $(seq 1 50); do
	[ "$fds" -eq "$fds0" ] && break
	sleep 0.1
	fds=$(vfbd_fds)
done
[ "$fds" -eq "$fds0" ]
check $? "vfbd fd count back to baseline ($fds0 -> $fds)"
stop_vfbd

fault_done
