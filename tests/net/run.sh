#!/bin/sh
# run.sh - `isorun run`, the one-shot main job, end to end: embedded runner
# (gateway, proxy, DNS view), a bubblewrap sandbox, a real command, in the
# closed universe. Judged by the wan servers' and dnsmasq's logs.
set -u
cd "$(dirname "$0")/../.."
B=${ISORUN_BUILD:-build/san}
I=$B/isorun
if [ "$(id -u)" != 0 ]; then
	echo "ok - run # skip: needs root"
	exit 0
fi
[ -x "$I" ] && [ -x "$B/isorun-init" ] ||
	{ echo "not ok - run: $I or $B/isorun-init is not built"; exit 1; }
. tests/net/lib/universe.sub
U=irt-$$
T=$(mktemp -d)
RPID=''
cleanup() {
	[ -n "$RPID" ] && kill -9 "$RPID" 2>/dev/null
	universe_down "$U"
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE

ok() { echo "ok - $1"; }
nok() { echo "not ok - $1: $2"; }
check() { if eval "$2"; then ok "$1"; else nok "$1" "$3"; fi; }

universe_up "$U" || { echo "not ok - run: universe_up failed"; exit 1; }
WLOG=$(universe_wan_log "$U")
DLOG=$(universe_dns_log "$U")

# isorun run inside the universe's host (network namespace only, so that
# its /run/netns entries stay visible), resolving through the universe.
run() { nsenter --net=/run/netns/"$U-host" "$I" run --dns-server 192.0.2.53 "$@"; }
leftovers() {
	ip netns list | awk '/^ir[0-9]+-/ { print $1 }' | sort
	ls /run/isorun/sandboxes 2>/dev/null | sort
}
before=$(leftovers)

# 1. allowed names work with ordinary tools, no proxy settings
out=$(run --allow api.example.com -- sh -c '
	curl -sS -m 5 http://api.example.com/r01 &&
	curl -sS -k -m 5 https://api.example.com/r02' 2>"$T/err")
rc=$?
check "allowed name: the command's output streams through" \
    '[ $rc -eq 0 ] && echo "$out" | grep -q "path=/r01" && echo "$out" | grep -q "path=/r02"' \
    "rc=$rc out='$out' err='$(head -3 "$T/err")'"
check "allowed name: both requests reached the server (http and https with SNI)" \
    'grep -q "\"path\":\"/r01\"" "$WLOG" && grep "\"path\":\"/r02\"" "$WLOG" | grep -q "\"sni\":\"api.example.com\""' \
    "not in the wan log"

# 2. a name the policy does not allow is not resolved, and never asked upstream
run --allow api.example.com -- curl -sS -m 5 http://allowed.test/r03 >/dev/null 2>"$T/err"
rc=$?
check "name not allowed: does not resolve (curl exit 6)" '[ $rc -eq 6 ]' "rc=$rc"
check "name not allowed: the upstream resolver never saw it" '! grep -q "allowed.test" "$DLOG"' \
    "$(grep allowed.test "$DLOG" | head -2)"
check "name not allowed: the blocked query is reported on stderr" \
    'grep -q "isorun: blocked dns allowed.test" "$T/err"' "$(cat "$T/err")"

# 3. a direct connection to an address no rule allows: refused at once, reported
run --allow api.example.com -- curl -sS -m 5 http://203.0.113.11/r04 >/dev/null 2>"$T/err"
check "direct IP: blocked, reported, nothing reached the server" \
    'grep -q "isorun: blocked tcp 203.0.113.11:80" "$T/err" && ! grep -q "/r04" "$WLOG"' \
    "$(cat "$T/err")"

# 3b. with the real DNS view: SSH (server first) to an allowed name, named
#     by the sandbox's own lookup; SNI spoofing goes to the resolved address
out=$(run --allow github.com -- python3 -c '
import socket
s = socket.create_connection(("github.com", 22), timeout=5)
print(s.recv(64).decode().strip())' 2>&1)
check "SSH-like server-first protocol to an allowed name (DNS view names it)" \
    'echo "$out" | grep -q "^SSH-2.0-wan"' "got '$out'"
out=$(run --allow api.example.com -- sh -c 'getent hosts api.example.com >/dev/null;
	curl -sS -k -m 5 --resolve api.example.com:443:192.0.2.12 https://api.example.com/r3c' 2>&1)
check "SNI naming an allowed host sent to another address: served by the resolved one" \
    'echo "$out" | grep -q "path=/r3c" && grep "\"path\":\"/r3c\"" "$WLOG" | grep -qv "192.0.2.12"' \
    "got '$out'"
out=$(run --allow api.example.com -- curl -sS -k -m 5 --resolve api.example.com:443:192.0.2.12 \
    https://api.example.com/r3d 2>&1)
rc=$?
check "SNI of an allowed name the sandbox never looked up: blocked, nothing sent" \
    '[ $rc -ne 0 ] && ! grep -q "/r3d" "$WLOG" && echo "$out" | grep -q "unresolved-name\|never resolved"' \
    "rc=$rc out='$out'"

# 4. exit codes and streams
run -- sh -c 'echo to-out; echo to-err >&2; exit 7' >"$T/o" 2>"$T/e"
rc=$?
check "exit code passes through" '[ $rc -eq 7 ]' "rc=$rc"
check "stdout and stderr stay apart" 'grep -qx to-out "$T/o" && grep -qx to-err "$T/e"' \
    "out='$(cat "$T/o")' err='$(cat "$T/e")'"
run -- sh -c 'kill -TERM $$'
rc=$?
check "killed by a signal: 128+N" '[ $rc -eq 143 ]' "rc=$rc"
out=$(run --env FOO=bar-baz -- sh -c 'echo $FOO')
check "--env reaches the command" '[ "$out" = bar-baz ]' "got '$out'"
out=$(run -- id -u)
check "the guest is root in its own user namespace" '[ "$out" = 0 ]' "got '$out'"

# 5. bad input: exit 2, a message naming it, nothing left behind
err=$(run --allow '*foo.com' -- true 2>&1)
rc=$?
check "bad rule: exit 2 naming the rule" '[ $rc -eq 2 ] && echo "$err" | grep -q "\*foo.com"' \
    "rc=$rc err='$err'"
err=$(run --profile no-such-profile -- true 2>&1)
rc=$?
check "unknown profile: exit 2" '[ $rc -eq 2 ] && echo "$err" | grep -q "no-such-profile"' \
    "rc=$rc err='$err'"
err=$(run --profile openai --allow x.test -- true 2>&1)
rc=$?
check "--profile with --allow: exit 2, mutually exclusive" \
    '[ $rc -eq 2 ] && echo "$err" | grep -q "mutually exclusive"' "rc=$rc err='$err'"
err=$(run --image no-such-image -- true 2>&1)
rc=$?
check "unknown image: exit 2 saying how to import one" \
    '[ $rc -eq 2 ] && echo "$err" | grep -q "isorun image import"' "rc=$rc err='$err'"
err=$(run 2>&1)
rc=$?
check "no command: exit 2" '[ $rc -eq 2 ]' "rc=$rc err='$err'"
err=$(run --timeout 0 -- true 2>&1)
rc=$?
check "bad --timeout: exit 2 naming it" '[ $rc -eq 2 ] && echo "$err" | grep -q -- "--timeout"' \
    "rc=$rc err='$err'"

# 6. --timeout kills the command's processes
t0=$(date +%s)
err=$(run --timeout 1 -- sh -c 'sleep 30 & sleep 30' 2>&1)
rc=$?
t1=$(date +%s)
check "--timeout: killed after 1 s, said so" \
    '[ $rc -eq 137 ] && [ $((t1 - t0)) -lt 10 ] && echo "$err" | grep -q "killed after 1 s"' \
    "rc=$rc after $((t1 - t0)) s err='$err'"

# 7. locked-down: DNS refused, nothing asked upstream, nothing connects
run --profile locked-down -- sh -c 'getent hosts other.test; curl -sS -m 3 http://192.0.2.10/r07' \
    >/dev/null 2>&1
check "locked-down: no name asked upstream, no connection made" \
    '! grep -q other.test "$DLOG" && ! grep -q "/r07" "$WLOG"' "leaked"

# 8. SIGTERM to isorun: the command gets it, everything is removed
nsenter --net=/run/netns/"$U-host" "$I" run --dns-server 192.0.2.53 -- sh -c \
    'trap "echo got-term; exit 5" TERM; sleep 30 & wait' >"$T/o" 2>&1 &
RPID=$!
sleep 2
kill -TERM "$RPID"
wait "$RPID"
rc=$?
RPID=''
check "SIGTERM: forwarded to the command, its exit code returned" \
    '[ $rc -eq 5 ] && grep -q got-term "$T/o"' "rc=$rc out='$(cat "$T/o")'"
check "nothing left behind by any run (namespaces, sandbox state)" \
    '[ "$(leftovers)" = "$before" ]' "$(leftovers)"

# 9. a run killed with SIGKILL: its leftovers are removed by the next run
nsenter --net=/run/netns/"$U-host" "$I" run --dns-server 192.0.2.53 -- sleep 30 \
    >/dev/null 2>&1 &
RPID=$!
sleep 2
kill -9 "$RPID"
wait "$RPID" 2>/dev/null
RPID=''
check "SIGKILL: the runner's namespaces stay until someone cleans up" \
    '[ "$(leftovers)" != "$before" ]' "nothing was left?"
run -- true
check "the next run removes a dead run's namespaces and sandbox" \
    '[ "$(leftovers)" = "$before" ]' "$(leftovers)"

# 10. --ca-file: ordinary tools trust it with no flag of their own
out=$(run --ca-file "$UNIVERSE_CA" --allow api.example.com -- sh -c '
	curl -sS -m 5 https://api.example.com/r10 &&
	python3 -c "import urllib.request as u; print(u.urlopen(\"https://api.example.com/r10b\").read().decode())"' 2>&1)
check "--ca-file: curl and python verify the universe's server" \
    'echo "$out" | grep -q "path=/r10$" && echo "$out" | grep -q "path=/r10b"' "got '$out'"
err=$(run --ca-file /etc/hostname -- true 2>&1)
rc=$?
check "--ca-file without a certificate: exit 2 naming the file" \
    '[ $rc -eq 2 ] && echo "$err" | grep -q "/etc/hostname: no PEM certificate"' "rc=$rc err='$err'"
# 11. the runner raises its soft descriptor limit to the hard one (two per
#     connection); the sandbox inherits it
out=$(nsenter --net=/run/netns/"$U-host" prlimit --nofile=512:4096 "$I" run \
    --dns-server 192.0.2.53 -- sh -c 'ulimit -Sn' 2>&1)
check "soft RLIMIT_NOFILE 512 under a hard 4096: raised to 4096" '[ "$out" = 4096 ]' \
    "got '$out'"
out=$(nsenter --net=/run/netns/"$U-host" prlimit --nofile=64:64 "$I" run \
    --dns-server 192.0.2.53 -- echo in-sandbox 2>&1)
check "a runner with 64 descriptors in all still launches a sandbox" \
    '[ "$out" = in-sandbox ]' "got '$out'"
# 12. a runner-wide connection cap keeps descriptors for the rest of the
#     runner: with 1100 descriptors, (1100 - 1024) / 2 = 38 connections
out=$(nsenter --net=/run/netns/"$U-host" prlimit --nofile=1100:1100 "$I" run \
    --dns-server 192.0.2.53 -- python3 -c '
import socket
held = []
for i in range(60):
    # a refusal (accept, then reset) may reach the client before its
    # connect() returns: then connect() itself fails with ECONNRESET
    try:
        held.append(socket.create_connection(("192.0.2.11", 7), timeout=5))
    except ConnectionResetError:
        pass
ok = 0
for s in held:
    try:
        s.sendall(b"x")
        ok += s.recv(1) == b"x"
    except OSError:
        pass
print(ok)' 2>"$T/err")
check "runner-wide cap: 38 of 60 held connections echo, the rest are refused" \
    '[ "$out" = 38 ] && [ "$(grep -c "the runner has 38 connections open" "$T/err")" = 22 ]' \
    "got '$out', $(grep -c "the runner has 38" "$T/err") refusals: $(head -c 300 "$T/err")"
check "nothing left behind at the end" '[ "$(leftovers)" = "$before" ]' "$(leftovers)"
