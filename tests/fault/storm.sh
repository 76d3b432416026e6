#!/bin/sh
# Lifecycle: a reconnect storm leaks nothing. CYCLES sequential connect ->
# handshake -> first full frame -> close cycles (every other close a
# reset), first without and then with VNC authentication; vfbd's fd count
# must be exactly where it was and its RSS may not grow by RSS_MAX_KIB.
# The rate is printed, not asserted (design/testing.md: speed is measured).
# shellcheck source=tests/fault/lib/fault.sh
. "$(dirname "$0")/lib/fault.sh"
fault_setup "$0" "$@"

CYCLES=2000
WARMUP=100
RSS_MAX_KIB=4096
printf 'secret\n' >"$tmp/password"

# wait_for_count REGEX N TIMEOUT_MS: until vfbd's log has N such lines.
wait_for_count() {
	deadline=$(($(now_ms) + $3))
	while [ "$(grep -cE -- "$1" "$vfbd_log")" -lt "$2" ]; do
		[ "$(now_ms)" -lt "$deadline" ] || return 1
		sleep "$POLL"
	done
}

# val KEY: the last KEY=value the stress tool printed.
val() {
	sed -n "s/.*\<$1=\([^ ]*\).*/\1/p" "$tmp/storm.out" | tail -n 1
}

# The small demo keeps each first frame at 300 KiB, so the storm measures
# connection handling rather than raw pixel copying.
for auth in none vnc-auth; do
	if [ "$auth" = none ]; then
		start_vfbd "storm-$auth" --source demo:320x240 \
			--handshake-timeout 2
		pw=""
	else
		start_vfbd "storm-$auth" --source demo:320x240 \
			--handshake-timeout 2 --password-file "$tmp/password"
		pw="--password secret"
	fi
	# shellcheck disable=SC2086
	"$STRESS" --port "$vfbd_port" --pid "$vfbd_pid" --reconnect $CYCLES \
		--warmup $WARMUP --max-seconds 60 $pw >"$tmp/storm.out" 2>&1
	sed 's/^/# /' "$tmp/storm.out"
	cycles=$(val cycles)
	failed=$(val failed)
	rate=$(val rate)
	fd_start=$(val fd_start)
	fd_after=$(val fd_after)
	growth=$(val rss_growth_kib)
	[ "${cycles:-0}" -eq $CYCLES ] && [ "${failed:-1}" -eq 0 ]
	check $? "$auth: $cycles reconnect cycles, $failed failed, $rate cycles/s"
	[ -n "$fd_start" ] && [ "$fd_start" -ge 0 ] &&
		[ "${fd_after:--2}" -eq "$fd_start" ]
	check $? "$auth: vfbd fd count flat ($fd_start -> $fd_after)"
	[ -n "$growth" ] && [ "$growth" -lt $RSS_MAX_KIB ]
	check $? "$auth: vfbd RSS growth ${growth} KiB after warm-up (bound $RSS_MAX_KIB KiB)"
	# The fd closes a moment before the close callback logs the line.
	wait_for_count 'client-closed ' $((CYCLES + WARMUP)) 3000
	n_closed=$(grep -c 'client-closed ' "$vfbd_log")
	n_peer=$(grep -c 'client-closed .* reason=peer-closed ' "$vfbd_log")
	[ "$n_closed" -eq $((CYCLES + WARMUP)) ] && [ "$n_peer" -eq "$n_closed" ]
	check $? "$auth: every cycle closed as reason=peer-closed ($n_peer of $n_closed)"
	stop_vfbd
done

fault_done
