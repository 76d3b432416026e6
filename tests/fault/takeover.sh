#!/bin/sh
# Lifecycle: the rightful user takes the console back from a session that
# vanished (VPN dropped, no FIN/RST), at once, with and without VNC
# authentication. T_takeover is the newcomer's connect -> first full frame
# (design/lifecycle.md: < 0.2 s); the median of RUNS takeovers is asserted.
# shellcheck source=tests/fault/lib/fault.sh
. "$(dirname "$0")/lib/fault.sh"
fault_setup "$0" "$@"

RUNS=5
BOUND_MS=200
printf 'secret\n' >"$tmp/password"

for auth in none vnc-auth; do
	if [ "$auth" = none ]; then
		start_vfbd "takeover-$auth" --keepalive 10,5,3 \
			--user-timeout 20 --stall-timeout 20
		pw=""
	else
		start_vfbd "takeover-$auth" --password-file "$tmp/password" \
			--keepalive 10,5,3 --user-timeout 20 --stall-timeout 20
		pw="--password secret"
	fi
	# The first client holds the console, then vanishes; each next one
	# takes over the vanished one and then vanishes in turn. The long
	# default-like liveness settings make sure no timer frees anyone.
	# shellcheck disable=SC2086
	client c0 idle --hold 60 $pw
	wait_out c0 '^ready' 5000
	prev_id=$(client_id c0)
	times=""
	reasons_ok=1
	frames_ok=1
	for i in $(seq 1 $RUNS); do
		vanish "c$((i - 1))"
		sleep 0.2
		# shellcheck disable=SC2086
		client "c$i" idle --hold 60 $pw
		if ! wait_out "c$i" '^ready' 5000; then
			frames_ok=0
			break
		fi
		times="$times $(out "c$i" first_frame_ms)"
		[ "$(out "c$i" full)" = 1 ] || frames_ok=0
		wait_closed "$prev_id" 2000
		reason=$(closed_reason "$prev_id")
		if [ "$reason" != takeover ]; then
			reasons_ok=0
			echo "# client $prev_id closed with reason '$reason'"
		fi
		prev_id=$(client_id "c$i")
	done
	[ "$frames_ok" -eq 1 ]
	check $? "$auth: each newcomer got a full first frame"
	[ "$reasons_ok" -eq 1 ]
	check $? "$auth: each vanished session closed with reason=takeover"
	# Integer milliseconds for the shell's arithmetic, rounded up.
	ms=""
	for t in $times; do
		ms="$ms $(awk -v t="$t" 'BEGIN { print int(t) + 1 }')"
	done
	# shellcheck disable=SC2086
	med=$(median $ms)
	# shellcheck disable=SC2086
	med_exact=$(printf '%s\n' $times | sort -n |
		awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
	[ -n "$med" ] && [ "$med" -lt "$BOUND_MS" ]
	check $? "$auth: takeover of a vanished session, connect -> first full frame median $med_exact ms (runs:$times ms; bound $BOUND_MS ms)"
	[ "$(client_state "$prev_id")" = active ]
	check $? "$auth: the last newcomer is the active session"
	for i in $(seq 0 $RUNS); do
		stop_client "c$i"
	done
	stop_vfbd
done

fault_done
