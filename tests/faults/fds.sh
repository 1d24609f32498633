#!/bin/sh
# fds.sh - isorund runs out of file descriptors. Its RLIMIT_NOFILE is
# lowered (prlimit on the running daemon) and a sandbox holds more relayed
# connections than it can: isorund stays up and does not spin, every
# connection past the limit is reset at once (never left hanging) with an
# audit event and a log line that say why; another sandbox's fetch is
# refused the same way meanwhile; DNS still answers; a create or exec that
# cannot get its descriptors fails with an error that says so and leaves
# nothing behind; as soon as descriptors are freed, fetches, API requests
# that waited, creates and execs work again. Judged by the echo server's
# log, the audit store, the process's CPU time and the API's answers.
TEST=faults
. "$(dirname "$0")/lib.sub"

# Above 100: src/sandbox/launch.c cannot create a sandbox at or below it
# (F_DUPFD_CLOEXEC from 100; docs/faults.md).
NOFILE=${FAULTS_NOFILE:-128}
HOLD=100	# connections the holder tries: well past NOFILE / 2

d_start || { nok start "isorund did not start"; exit 1; }
api POST /v1/sandboxes '{"id":"h1","network":{"allow":["192.0.2.0/24","allowed.test"]}}'
s1=$ST
api POST /v1/sandboxes '{"id":"h2","network":{"allow":["192.0.2.0/24"]}}'
check "two sandboxes" '[ "$s1$ST" = 201201 ]' "$s1 $ST"
base=$(ls "/proc/$DP/fd" | wc -l)
prlimit --pid "$DP" --nofile="$NOFILE:$NOFILE" ||
    { nok setup "prlimit --pid $DP --nofile=$NOFILE:$NOFILE failed"; exit 1; }
echo "# isorund: $base descriptors open, limit now $NOFILE"
cpu() { awk '{ print $14 + $15 }' "/proc/$DP/stat"; }	# clock ticks
HZ=$(getconf CLK_TCK)

universe_wan_reset "$U"
nsenter --net=/run/netns/"$R-sb0" python3 tests/faults/fdhold.py 192.0.2.10 7 $HOLD \
    "$T/ctl" >"$T/hold" 2>&1 &
HP=$!
track $HP
universe_wait_file "$T/hold" 'ok:' 60 || { nok hold "the holder did not finish: $(cat "$T/hold")"; exit 1; }
H=$(head -1 "$T/hold")
nfd=$(ls "/proc/$DP/fd" | wc -l)
echo "# holder: $H; isorund has $nfd descriptors open"
hv() { echo "$H" | tr ' ' '\n' | sed -n "s/^$1://p"; }
okn=$(hv ok)
nref=$((HOLD - okn))
check "out of descriptors: $okn of $HOLD connections relayed, $nref reset at once (slowest $(hv fail_ms) ms), none left hanging" \
    '[ "$okn" -gt 5 ] && [ "$okn" -lt $HOLD ] && [ "$(hv timeout)" = 0 ] && [ "$(hv reset)" = $nref ] && [ "$(hv fail_ms)" -lt 1000 ]' "$H"
c0=$(cpu)
sleep 1
c=$(($(cpu) - c0))
check "isorund is up and idle meanwhile ($c ticks of $HZ in 1 s: nothing spins)" \
    'kill -0 "$DP" && [ $c -lt $((HZ / 5)) ]' "$c ticks; $(tail -3 "$T/daemon.log")"
sleep 0.3
# Refused at accept (a 'limit' event), or accepted with the last
# descriptor and then short of one for upstream or for a pipe (its close
# event: a loop gives its pooled pipes back to keep a spare descriptor).
a=$(sql "SELECT count(*) FROM events WHERE sandbox = 'h1' AND ((event = 'connect' AND verdict = 'blocked' AND rule = 'limit' AND reason = 'the runner is out of file descriptors (Too many open files)') OR (event = 'close' AND reason IN ('upstream socket: Too many open files', 'out of file descriptors for a pipe')))")
check "the audit says why for each of the $nref ($a)" '[ "$a" = "$nref" ]' \
    "$(sql "SELECT event, rule, reason, count(*) FROM events WHERE sandbox = 'h1' GROUP BY 1, 2, 3")"
check "the log says it once" \
    '[ "$(grep -c "isorun: proxy: out of file descriptors (Too many open files): new connections are reset until some close" "$T/daemon.log")" = 1 ]' \
    "$(grep -i descriptor "$T/daemon.log")"

t0=$(now_ms)
out=$(nsenter --net=/run/netns/"$R-sb1" curl -sS -m 5 http://192.0.2.11/h2 2>&1)
rc=$?
t=$(elapsed_ms "$t0")
check "meanwhile another sandbox's fetch is refused at once (curl exit $rc, $t ms)" \
    '[ $rc != 0 ] && [ $rc != 28 ] && [ $t -lt 1000 ]' "exit $rc after $t ms: $out"
t0=$(now_ms)
A=$(nsenter --net=/run/netns/"$R-sb0" python3 tests/net/lib/dnsq.py --timeout 3 192.0.2.53 allowed.test 2>&1)
t=$(elapsed_ms "$t0")
check "meanwhile DNS over UDP answers, with SERVFAIL when the upstream socket cannot be had ($(echo "$A" | head -1), $t ms)" \
    'echo "$A" | grep -Eq "^status: (NOERROR|SERVFAIL)" && [ $t -lt 2000 ]' "$A"
t0=$(now_ms)
A=$(nsenter --net=/run/netns/"$R-sb0" python3 tests/net/lib/dnsq.py --tcp --timeout 3 192.0.2.53 allowed.test 2>&1)
t=$(elapsed_ms "$t0")
check "meanwhile DNS over TCP is reset at once or answered, not left waiting ($(echo "$A" | head -1), $t ms)" \
    'echo "$A" | grep -Eq "reset|^status: (NOERROR|SERVFAIL)" && [ $t -lt 1000 ]' "$A"

# An API request waits while libmicrohttpd has no descriptor to accept it.
curl -sS -m 10 --unix-socket "$SOCK" -o "$T/health" -w '%{http_code}' \
    http://localhost/healthz >"$T/health.st" 2>&1 &
AP=$!
c0=$(cpu)
sleep 1
c=$(($(cpu) - c0))
echo "# an API request waiting for a descriptor: isorund used $c ticks of $HZ in 1 s"

# Two descriptors free: enough to take a request, not to serve it.
echo 1 >"$T/ctl"
universe_wait_file "$T/hold" 'closed:1' 5
t0=$(now_ms)
wait $AP
t=$(elapsed_ms "$t0")
check "the waiting API request is served once a descriptor is free ($t ms)" \
    '[ "$(cat "$T/health.st")" = 200 ] && [ $t -lt 2000 ]' "$(cat "$T/health.st") after $t ms"
api POST /v1/sandboxes '{"id":"h3"}'
errcheck "a create that cannot get its descriptors fails, saying so" 500 internal "Too many open files"
api GET /v1/sandboxes
check "... and leaves nothing behind" \
    '[ "$(jv sandboxes.2.id)" = "" ] && [ "$(runner_left)" = "$R-gw $R-sb0 $R-sb1 " ] && [ ! -e "$T/run/sandboxes/h3" ]' \
    "$(cat "$BODYF"); left: $(runner_left)"
sbexec h2 'echo hi'
errcheck "an exec that cannot get its descriptors fails, saying so" 500 internal "Too many open files"

echo all >"$T/ctl"
wait $HP
ms_sleep 200
t0=$(now_ms)
out=$(nsenter --net=/run/netns/"$R-sb1" curl -sS -m 5 http://192.0.2.11/h2-after 2>&1)
rc=$?
t=$(elapsed_ms "$t0")
check "descriptors freed: the other sandbox's fetch works again ($t ms)" \
    '[ $rc = 0 ] && universe_wait_log "$U" "\"path\":\"/h2-after\"" 2' "exit $rc: $out"
api POST /v1/sandboxes '{"id":"h3"}'
check "descriptors freed: a create works" '[ "$ST" = 201 ]' "$ST $(cat "$BODYF")"
sbexec h3 'echo hi'
check "descriptors freed: an exec works" '[ "$ST" = 200 ] && [ "$(jv stdout)" = hi ]' "$ST $(cat "$BODYF")"
n=$(grep -c '"server":"echo","dst":"192.0.2.10"' "$(universe_wan_log "$U")")
check "the echo server saw exactly the $okn relayed connections" '[ "$n" = "$okn" ]' "$n"
sleep 0.3
g=$(metric isorun_active_connections)
check "no proxied connection is left open (isorun_active_connections $g)" '[ "$g" = 0 ]' "$g"
d_stop TERM
check "isorund stops cleanly (exit 0: no leak under ASan)" '[ "$DRC" = 0 ]' \
    "exit $DRC: $(tail -3 "$T/daemon.log")"
exit 0
