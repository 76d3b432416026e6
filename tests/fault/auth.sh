#!/bin/sh
# Lifecycle and authentication: a newcomer that cannot authenticate never
# disturbs the current session, and an address that keeps guessing is
# throttled without locking the rightful user out (design/lifecycle.md,
# "Takeover").
# shellcheck source=tests/fault/lib/fault.sh
. "$(dirname "$0")/lib/fault.sh"
fault_setup "$0" "$@"

printf 'secret\n' >"$tmp/password"

# fc_once NAME ARGS...: one handshake in the foreground, output in NAME.out.
fc_once() {
	n=$1
	shift
	"$FC" handshake --port "$vfbd_port" "$@" >"$tmp/$n.out" 2>&1
}

# 5. A wrong password never kicks the current user.
start_vfbd wrong-password --password-file "$tmp/password" \
	--keepalive 1,1,2 --user-timeout 3 --stall-timeout 3 \
	--handshake-timeout 2
client a stream --interval 200 --password secret --hold 30
wait_out a '^frames=' 5000
id_a=$(client_id a)
fc_once b --password wrong
id_b=$(client_id b)
result=$(out b result)
wait_closed "$id_b" 3000
reason=$(closed_reason "$id_b")
[ "$result" = auth-failed ] && [ "$reason" = auth-failed ]
check $? "wrong password refused (client sees $result, log reason=$reason)"
before=$(out a frames)
state=$(client_state "$id_a")
sleep 1
after=$(out a frames)
[ "$state" = active ] && [ -z "$(closed_reason "$id_a")" ] &&
	[ "${after:-0}" -ge $((${before:-0} + 3)) ]
check $? "the authenticated user stays active ($state) and keeps getting frames ($before -> $after in 1 s)"
stop_client a
stop_vfbd

# 8. Five wrong passwords from 127.0.0.2 block that address, even with
# the right password; 127.0.0.1 still gets in with the right password.
start_vfbd throttle --password-file "$tmp/password" --handshake-timeout 2
failed=0
for i in 1 2 3 4 5; do
	fc_once "w$i" --bind 127.0.0.2 --password "guess$i"
	[ "$(out "w$i" result)" = auth-failed ] && failed=$((failed + 1))
done
[ "$failed" -eq 5 ]
check $? "five wrong passwords from 127.0.0.2 fail ($failed of 5 auth-failed)"
wait_for "$vfbd_log" 'auth-throttled host=127\.0\.0\.2 ' 2000
check $? "vfbd logs auth-throttled for 127.0.0.2"
fc_once w6 --bind 127.0.0.2 --password secret
result=$(out w6 result)
why=$(sed -n 's/.*reason="\(.*\)"$/\1/p' "$tmp/w6.out")
id6=$(client_id w6)
wait_for "$vfbd_log" "client-refused id=$id6 peer=127\.0\.0\.2:" 2000
logged=$?
wait_closed "$id6" 3000
reason=$(closed_reason "$id6")
[ "$result" = refused ] && [ -n "$why" ] && [ "$logged" -eq 0 ]
check $? "the 6th connection from 127.0.0.2 is refused with a reason (\"$why\"), logged client-refused, closed reason=$reason"
fc_once r --password secret
result=$(out r result)
[ "$result" = ok ]
check $? "the right password from 127.0.0.1 still gets in ($result)"
stop_vfbd

fault_done
