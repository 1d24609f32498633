#!/bin/sh
# api_restart.sh - isorund stops and starts again: with on_shutdown keep
# (the default) its sandboxes survive without network (fail closed) and
# are adopted again with their policies; a crash (SIGKILL) too; what has no
# record, or outlived its timeoutMs, is destroyed at the next start; with
# on_shutdown destroy nothing is left. Verdicts judged by the wan servers.
TEST=api_restart
. "$(dirname "$0")/api_lib.sub"

WLOG=$(universe_wan_log "$U")
DNSLOG=$(universe_dns_log "$U")

# sb_pids ID: the sandbox's init and bwrap, from its state file.
sb_pids() {
	python3 -c 'import json,sys; s=json.load(open(sys.argv[1]));
print(" ".join(str(v) for k, v in sorted(s.items()) if k.endswith("pid") and
isinstance(v, int)))' "$T/run/sandboxes/$1/state.json" 2>/dev/null
}
alive() { for p in "$@"; do kill -0 "$p" 2>/dev/null || return 1; done; return 0; }

d_start || { nok start "isorund did not start"; exit 1; }
api POST /v1/sandboxes '{"id":"a1","network":{"allow":["api.example.com"]}}'
api POST /v1/sandboxes '{"id":"a2","networkProfile":"locked-down"}'
api POST /v1/sandboxes '{"id":"a3","timeoutMs":4000}'
api POST /v1/sandboxes '{"id":"a4"}'
sbexec a1 'echo kept > /root/f; (sleep 600 &); true'
P1=$(sb_pids a1)
P4=$(sb_pids a4)
check "four sandboxes, each with its slot" \
    '[ "$(runner_left)" = "$R-gw $R-sb0 $R-sb1 $R-sb2 $R-sb3 " ] && [ -n "$P1" ] && alive $P1' \
    "left: $(runner_left); pids '$P1'"

# In flight at SIGTERM: an exec of 60 s and an audit follow.
curl -sS --unix-socket "$SOCK" -H 'Content-Type: application/json' \
    -d '{"cmd":"sleep 60"}' http://localhost/v1/sandboxes/a4/exec >"$T/long" 2>&1 &
LP=$!
curl -sS -N --unix-socket "$SOCK" 'http://localhost/v1/sandboxes/a1/audit?follow=1' \
    >"$T/fol" 2>&1 &
FP=$!
sleep 0.5
t0=$(date +%s%N)
d_stop TERM
t=$(( ($(date +%s%N) - t0) / 1000000 ))
wait $LP $FP
check "SIGTERM: exit 0 (no leak under ASan)" '[ "$DRC" = 0 ]' "exit $DRC: $(tail -3 "$T/daemon.log")"
check "... within ${t} ms, though an exec and a follow were in flight" \
    '[ $t -lt 5000 ] && grep -q "\"exitCode\":137" "$T/long"' "after $t ms: $(cat "$T/long")"
check "... its socket is gone" '[ ! -e "$SOCK" ]' "still there"
check "... the sandboxes keep running (on_shutdown keep)" 'alive $P1 $P4' "pids $P1 $P4"
check "... and only the runner's namespaces stay: gateway and slots" \
    '[ "$(runner_left)" = "$R-gw $R-sb0 $R-sb1 $R-sb2 $R-sb3 " ]' "left: $(runner_left)"
check "... no isorund process is left" \
    '! ps -eo args | grep -v grep | grep -q "isorund --name $R "' "$(ps -eo pid,args | grep "$R " | grep -v grep)"

# While no isorund runs, a sandbox has no way out: refused at once.
universe_wan_reset "$U"
t0=$(date +%s%N)
out=$(nsenter --net=/run/netns/"$R-sb0" curl -sS -m 5 http://192.0.2.10/down 2>&1)
rc=$?
t=$(( ($(date +%s%N) - t0) / 1000000 ))
check "daemon down: a sandbox's connection is refused at once (${t} ms)" \
    '[ $rc = 7 ] && [ $t -lt 2000 ]' "curl exit $rc after $t ms: $out"
out=$(nsenter --net=/run/netns/"$R-sb0" python3 tests/net/lib/dnsq.py 192.0.2.53 api.example.com 2>&1)
check "daemon down: DNS gets no answer" '! echo "$out" | grep -q "status: NOERROR"' "$out"
check "daemon down: nothing reached the wan" '[ "$(universe_wan_count "$U")" = 0 ]' \
    "$(universe_wan_count "$U") packets"

# Meanwhile: a4 loses its record (not adopted: destroyed), a3's lifetime ends.
rm "$T/run/isorund/sandboxes/a4.json"
sleep 3
d_start || { nok start "isorund did not start again"; exit 1; }
check "restart: a1 and a2 adopted" \
    'grep -q "adopted sandbox a1 (slot 0, rules allow-list)" "$T/daemon.log" && grep -q "adopted sandbox a2 (slot 1, profile locked-down)" "$T/daemon.log"' \
    "$(grep -E 'adopt|destroy|lifetime' "$T/daemon.log")"
api GET /v1/sandboxes
check "restart: listed a1, a2, oldest first" \
    '[ "$(jv sandboxes.0.id)" = a1 ] && [ "$(jv sandboxes.1.id)" = a2 ] && [ "$(jv sandboxes.2.id)" = "" ]' \
    "$(cat "$BODYF")"
api GET /v1/sandboxes/a3
errcheck "restart: a3 outlived its timeoutMs while down: gone" 404 not_found "'a3'"
api GET /v1/sandboxes/a4
errcheck "restart: a4 had no record: gone" 404 not_found "'a4'"
check "... its processes killed, its slot and a3's removed" \
    '! alive $P4 && [ "$(runner_left)" = "$R-gw $R-sb0 $R-sb1 " ]' \
    "pids $P4; left: $(runner_left)"
sbexec a1 'cat /root/f; pgrep -c sleep'
check "restart: a1's files and background processes are still there" \
    '[ "$(jv stdout)" = "$(printf "kept\n1")" ]' "$(cat "$BODYF")"
universe_logs_reset "$U"
universe_wan_reset "$U"
sbexec a1 'curl -sS -m 5 http://api.example.com/after; curl -sS -m 2 http://allowed.test/after; echo rc=$?'
check "restart: a1 reaches api.example.com again" \
    '[ "$(grep -c "\"host\":\"api.example.com\",\"path\":\"/after\"" "$WLOG")" = 1 ]' \
    "$(jv stdout) $(jv stderr)"
check "restart: a1's policy holds: allowed.test got nothing" \
    '[ "$(grep -c allowed.test "$WLOG")" = 0 ] && [ "$(universe_wan_count "$U" tcp 192.0.2.11)" = 0 ] && jv stdout | grep -q "rc=[1-9]"' \
    "$(grep allowed.test "$WLOG")"
sbexec a2 'getent hosts example.com || echo refused; curl -m 2 -sS http://192.0.2.10/ 2>&1; echo rc=$?'
check "restart: a2 is still locked down" \
    'jv stdout | grep -q refused && jv stdout | grep -q "rc=[1-9]" && [ "$(universe_wan_count "$U" tcp 192.0.2.10)" = 0 ]' \
    "$(jv stdout)"
api PUT /v1/sandboxes/a1/network '{"network":{"allow":["allowed.test"]}}'

# A crash: SIGKILL leaves the records; the next start adopts as well, with
# the policy of the last change.
d_stop KILL
d_start || { nok start "isorund did not start after a crash"; exit 1; }
check "after a crash (SIGKILL): a1 and a2 adopted again" \
    '[ "$(grep -c "adopted sandbox a1" "$T/daemon.log")" = 2 ] && [ "$(grep -c "adopted sandbox a2" "$T/daemon.log")" = 2 ]' \
    "$(grep adopt "$T/daemon.log")"
universe_logs_reset "$U"
sbexec a1 'curl -sS -m 5 http://allowed.test/crash; curl -sS -m 2 http://api.example.com/crash; echo rc=$?'
check "after a crash: a1 has the policy it was changed to" \
    '[ "$(grep -c "\"host\":\"allowed.test\",\"path\":\"/crash\"" "$WLOG")" = 1 ] && [ "$(grep -c api.example.com "$WLOG")" = 0 ]' \
    "$(jv stdout); log: $(cat "$WLOG")"

# A second daemon on the same run dir, or the same socket, is refused.
out=$(d --socket "$T/other.sock" 2>&1)
rc=$?
check "a second isorund on the same run_dir: refused" \
    '[ $rc != 0 ] && echo "$out" | grep -q "another isorund uses run_dir"' "exit $rc: $out"
out=$(d --run-dir "$T/run2" --name "${R}x" 2>&1)
rc=$?
check "a second isorund on the same socket: refused" \
    '[ $rc != 0 ] && echo "$out" | grep -q "another isorund answers there"' "exit $rc: $out"
d --name "${R}x" --run-dir "$T/run2" --purge >/dev/null 2>&1

# Another pool would renumber the sandboxes: refused.
d_stop TERM
out=$(d --pool4 100.65.0.0/16 2>&1)
rc=$?
check "restart with other pools: refused, saying why" \
    '[ $rc != 0 ] && echo "$out" | grep -q "was started with pool4 100.64.0.0/16"' "exit $rc: $out"
check "... leaving the sandboxes alone" 'alive $P1' "pids $P1"

# on_shutdown destroy: nothing is left.
d_start --on-shutdown destroy || { nok start "isorund did not start (destroy)"; exit 1; }
d_stop TERM
check "on_shutdown destroy: exit 0" '[ "$DRC" = 0 ]' "exit $DRC: $(tail -3 "$T/daemon.log")"
check "on_shutdown destroy: no namespace left" '[ -z "$(runner_left)" ]' "left: $(runner_left)"
check "on_shutdown destroy: no sandbox process left" '! alive $P1' "pids $P1"
check "on_shutdown destroy: no sandbox, record or runner record left" \
    '[ -z "$(ls "$T/run/sandboxes")" ] && [ -z "$(ls "$T/run/isorund/sandboxes")" ] && [ ! -e "$T/run/isorund/runner.json" ]' \
    "$(ls -R "$T/run" | head -20)"

# --purge removes what a dead runner left.
d_start || { nok start "isorund did not start (purge)"; exit 1; }
api POST /v1/sandboxes '{"id":"p1"}'
PP=$(sb_pids p1)
d_stop KILL
out=$(d --purge 2>&1)
rc=$?
check "isorund --purge: what a killed daemon left is gone" \
    '[ $rc = 0 ] && [ -z "$(runner_left)" ] && ! alive $PP && [ -z "$(ls "$T/run/sandboxes")" ]' \
    "exit $rc: $out; left: $(runner_left)"
exit 0
