#!/bin/sh
# Share policies (design/lifecycle.md, cli.md --share, --max-clients):
#   exclusive: a newcomer is refused with an RFB failure reason, the first
#              client is not disturbed
#   shared:    clients with the shared flag all get updates; a client
#              without it disconnects the others (reason=takeover);
#              --max-clients refuses one too many
# shellcheck source=tests/fault/lib/fault.sh
. "$(dirname "$0")/lib/fault.sh"
fault_setup "$0" "$@"

LIVENESS="--keepalive 1,1,2 --user-timeout 3 --stall-timeout 3 --handshake-timeout 2"

# frames_grow NAME...: true when every named client read at least 3 more
# frames within 1.5 s.
frames_grow() {
	before=""
	for n in "$@"; do
		before="$before ${n}:$(out "$n" frames)"
	done
	sleep 1.5
	grown=1
	grow_text=""
	for nb in $before; do
		n=${nb%%:*}
		b=${nb#*:}
		a=$(out "$n" frames)
		grow_text="$grow_text $n ${b:-0}->${a:-0}"
		[ "${a:-0}" -ge $((${b:-0} + 3)) ] || grown=0
	done
	[ "$grown" -eq 1 ]
}

# --share exclusive
# shellcheck disable=SC2086
start_vfbd exclusive --source demo:320x240 --share exclusive $LIVENESS
client a stream --interval 200 --hold 30
wait_out a '^frames=' 5000
id_a=$(client_id a)
"$FC" handshake --port "$vfbd_port" >"$tmp/b.out" 2>&1
id_b=$(client_id b)
result=$(out b result)
why=$(sed -n 's/.*reason="\(.*\)"$/\1/p' "$tmp/b.out")
wait_closed "$id_b" 3000
reason=$(closed_reason "$id_b")
[ "$result" = refused ] && [ -n "$why" ] && [ "$reason" = refused-exclusive ]
check $? "exclusive: newcomer refused with \"$why\" (log reason=$reason)"
frames_grow a
grew=$?
[ "$(client_state "$id_a")" = active ] && [ "$grew" -eq 0 ]
check $? "exclusive: the first client is still active and getting frames (${grow_text# })"
stop_client a
stop_vfbd

# --share shared
# shellcheck disable=SC2086
start_vfbd shared --source demo:320x240 --share shared $LIVENESS
client a stream --interval 200 --shared 1 --hold 30
client b stream --interval 200 --shared 1 --hold 30
wait_out a '^frames=' 5000
wait_out b '^frames=' 5000
id_a=$(client_id a)
id_b=$(client_id b)
frames_grow a b
grew=$?
[ "$(client_state "$id_a")" = active ] &&
	[ "$(client_state "$id_b")" = active ] && [ "$grew" -eq 0 ]
check $? "shared: two shared clients both active and getting frames (${grow_text# })"
client c idle --shared 0 --hold 30
wait_out c '^ready' 5000
id_c=$(client_id c)
wait_closed "$id_a" 2000
wait_closed "$id_b" 2000
ra=$(closed_reason "$id_a")
rb=$(closed_reason "$id_b")
[ "$ra" = takeover ] && [ "$rb" = takeover ] &&
	[ "$(client_state "$id_c")" = active ]
check $? "shared: a non-shared newcomer disconnects the others (reason=$ra, $rb) and is active"
stop_client a
stop_client b
stop_client c
stop_vfbd

# --share shared --max-clients 2
# shellcheck disable=SC2086
start_vfbd max-clients --source demo:320x240 --share shared \
	--max-clients 2 $LIVENESS
client a stream --interval 200 --hold 30
client b stream --interval 200 --hold 30
wait_out a '^frames=' 5000
wait_out b '^frames=' 5000
id_a=$(client_id a)
id_b=$(client_id b)
"$FC" handshake --port "$vfbd_port" >"$tmp/c.out" 2>&1
id_c=$(client_id c)
result=$(out c result)
wait_closed "$id_c" 3000
reason=$(closed_reason "$id_c")
[ "$reason" = refused-max-clients ] && [ "$result" != ok ]
check $? "max-clients 2: the third client is refused (client sees $result, log reason=$reason)"
frames_grow a b
grew=$?
[ "$(client_state "$id_a")" = active ] &&
	[ "$(client_state "$id_b")" = active ] && [ "$grew" -eq 0 ]
check $? "max-clients 2: the first two stay active and get frames (${grow_text# })"
stop_vfbd

fault_done
