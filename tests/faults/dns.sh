#!/bin/sh
# dns.sh - the DNS view's upstream down or slow. The upstream is a relay in
# wan (slowdns.py, in front of the universe's dnsmasq) that answers at
# once, late or never on cue; then nft drops its packets in wan; then the
# runner is given a dead address (packets vanish), a refusing one (ICMP
# port unreachable), and a dead one before a live one. The guest always
# gets SERVFAIL within the view's deadline (1500 ms), never silence; the
# view keeps answering what it decides alone meanwhile; resolution works
# again as soon as the upstream does. Judged by the relay's and dnsmasq's
# logs, the wan's counters, the audit store and the replies' timing.
TEST=faults
. "$(dirname "$0")/lib.sub"

STUB=192.0.2.54		# the misbehaving upstream
DEAD=192.0.2.99		# routed to wan, nobody there: packets vanish
REFUSE=192.0.2.98	# in wan, nothing on port 53: port unreachable
MODE=$T/dnsmode
SLOG=$T/slowdns.log
# dnsview_config_default: dc_deadline_ms 1500, and c-ares gives up on one
# server after 400 + 800 ms (dc_timeout_ms, doubled each of dc_tries 2)
DEADLINE=1500
GIVEUP=1200

universe_wan_addr "$U" "$STUB" "$REFUSE" || { nok setup "wan addresses"; exit 1; }
echo ok >"$MODE"
: >"$SLOG"
universe_wan "$U" python3 tests/faults/slowdns.py "$STUB" 192.0.2.53 "$MODE" "$SLOG" \
    >"$T/slowdns.out" 2>&1 &
universe_wait_file "$T/slowdns.out" ready 5 || { nok setup "slowdns.py: $(cat "$T/slowdns.out")"; exit 1; }

d_start --dns-server "$STUB" || { nok start "isorund did not start"; exit 1; }
api POST /v1/sandboxes '{"id":"n1","network":{"allow":["allowed.test","*.example.com"]}}'
check "a sandbox" '[ "$ST" = 201 ]' "$ST $(cat "$BODYF")"
NS=/run/netns/$R-sb0

# ask PATTERN N [WAIT]: N queries from the sandbox; sets A (the summary).
ask() { A=$(nsenter --net="$NS" python3 tests/faults/dnsburst.py 192.0.2.53 "$@" 2>&1); }
# field KEY: a field of A ("0" when absent).
field() { v=$(echo "$A" | tr ' ' '\n' | sed -n "s/^$1://p"); echo "${v:-0}"; }
# relayed NAME: queries for NAME the relay received.
relayed() { grep -c " $1\$" "$SLOG"; }
# audited NAME RCODE: audit rows of NAME with that rcode, once written.
audited() {
	sleep 0.5
	sql "SELECT count(*) FROM events WHERE qname = '$1' AND rcode = '$2' AND reason LIKE 'upstream failed%'"
}

ask allowed.test 1
check "upstream up: NOERROR, the real address ($(field max_ms) ms)" \
    '[ "$(field NOERROR)" = 1 ] && [ "$(field a)" = 192.0.2.11 ] && [ "$(relayed allowed.test)" = 1 ]' "$A"

# Silent upstream.
echo silent >"$MODE"
ask s1.example.com 1 5
ms=$(field max_ms)
check "upstream silent: SERVFAIL in $ms ms (c-ares gives up at $GIVEUP, deadline $DEADLINE), not silence" \
    '[ "$(field SERVFAIL)" = 1 ] && [ "$ms" -ge $((GIVEUP - 100)) ] && [ "$ms" -lt $((DEADLINE + 300)) ]' "$A"
n=$(relayed s1.example.com)
check "... the view did ask upstream ($n tries) and says why in the audit" \
    '[ "$n" -ge 1 ] && [ "$(audited s1.example.com SERVFAIL)" = 1 ]' \
    "$n; $(sql "SELECT qname, rcode, reason FROM events WHERE qname LIKE 's1.%'")"
# 300 at once while silent: each gets its answer; the view's own answers
# (a denied name) stay immediate meanwhile.
nsenter --net="$NS" python3 tests/faults/dnsburst.py 192.0.2.53 'b%d.example.com' 300 6 \
    >"$T/burst" 2>&1 &
BP=$!
sleep 0.2
ask denied.test 1
wait $BP
B=$(cat "$T/burst")
check "... meanwhile a name the policy refuses is answered at once ($(field max_ms) ms)" \
    '[ "$(field NXDOMAIN)" = 1 ] && [ "$(field max_ms)" -lt 200 ]' "$A"
A=$B
check "... 300 queries at once: 300 SERVFAIL, the slowest in $(field max_ms) ms" \
    '[ "$(field SERVFAIL)" = 300 ] && [ "$(field timeouts)" = 0 ] && [ "$(field max_ms)" -lt $((DEADLINE + 1000)) ]' "$A"
t0=$(now_ms)
out=$(nsenter --net="$NS" curl -sS -m 10 -o /dev/null http://c1.example.com/ 2>&1)
rc=$?
t=$(elapsed_ms "$t0")
check "... a guest's curl fails with 'could not resolve' in $t ms (the resolver's retries of SERVFAIL)" \
    '[ $rc = 6 ] && [ $t -lt 5000 ]' "curl exit $rc after $t ms: $out"
# allowed.test was answered above, within its TTL (60 s): the view still
# has that answer and gives it without asking the silent upstream.
n0=$(relayed allowed.test)
ask allowed.test 1
check "... a name answered within its TTL is still answered, from the view's cache ($(field max_ms) ms)" \
    '[ "$(field NOERROR)" = 1 ] && [ "$(field a)" = 192.0.2.11 ] && [ "$(field max_ms)" -lt 200 ] && [ "$(relayed allowed.test)" = "$n0" ]' \
    "$A; relayed $(relayed allowed.test), before $n0"

# Slow upstream: answers 3 s late.
echo 'delay 3' >"$MODE"
ask s2.example.com 1 5
ms=$(field max_ms)
check "upstream 3 s late: SERVFAIL in $ms ms" \
    '[ "$(field SERVFAIL)" = 1 ] && [ "$ms" -lt $((DEADLINE + 300)) ] && [ "$(audited s2.example.com SERVFAIL)" = 1 ]' "$A"
echo 'delay 0.3' >"$MODE"
ask s3.example.com 1 5
ms=$(field max_ms)
check "upstream 300 ms late: answered in $ms ms" \
    '[ "$(field NOERROR)" = 1 ] && [ "$(field a)" = 192.0.2.10 ] && [ "$ms" -ge 300 ] && [ "$ms" -lt $DEADLINE ]' "$A"
sleep 2.5	# the late answers of s2 arrive meanwhile
echo ok >"$MODE"
ask s4.example.com 1
check "upstream back: the next query answered at once ($(field max_ms) ms)" \
    '[ "$(field NOERROR)" = 1 ] && [ "$(field a)" = 192.0.2.10 ] && [ "$(field max_ms)" -lt 300 ]' "$A"
out=$(nsenter --net="$NS" curl -sS -m 5 http://allowed.test/back 2>&1)
check "... and a guest's fetch by name reaches the server" \
    'universe_wait_log "$U" "\"host\":\"allowed.test\",\"path\":\"/back\"" 2' "$out"

# nft drops the upstream's packets in wan, then stops.
universe_wan "$U" nft -f - <<EOF
table inet irtfault {
	chain pre { type filter hook prerouting priority -300; ip daddr $STUB udp dport 53 drop; }
}
EOF
n0=$(wc -l <"$SLOG")
universe_wan_reset "$U"
ask s5.example.com 1 5
ms=$(field max_ms)
pk=$(universe_wan_count "$U" udp "$STUB" 53)
check "upstream dropped by nft: SERVFAIL in $ms ms; packets sent ($pk), none got through" \
    '[ "$(field SERVFAIL)" = 1 ] && [ "$ms" -lt $((DEADLINE + 300)) ] && [ "$pk" -ge 1 ] && [ "$(wc -l <"$SLOG")" = "$n0" ]' \
    "$A; log: $(tail -2 "$SLOG")"
universe_wan "$U" nft delete table inet irtfault
ask s6.example.com 1
check "nft drop removed: answered again at once ($(field max_ms) ms)" \
    '[ "$(field NOERROR)" = 1 ] && [ "$(field max_ms)" -lt 300 ] && [ "$(relayed s6.example.com)" = 1 ]' "$A"

# restart_with ADDRS: isorund again with other upstreams (n1 adopted).
restart_with() {
	d_stop TERM
	d_start --dns-server "$@" && grep -q "adopted sandbox n1" "$T/daemon.log"
}

restart_with "$DEAD" || { nok restart "isorund with upstream $DEAD"; exit 1; }
universe_wan_reset "$U"
ask d1.example.com 1 5
ms=$(field max_ms)
pk=$(universe_wan_count "$U" udp "$DEAD" 53)
check "upstream a dead address: SERVFAIL in $ms ms ($pk packets tried)" \
    '[ "$(field SERVFAIL)" = 1 ] && [ "$ms" -lt $((DEADLINE + 300)) ] && [ "$pk" -ge 1 ] && [ "$(audited d1.example.com SERVFAIL)" = 1 ]' "$A"

restart_with "$REFUSE" || { nok restart "isorund with upstream $REFUSE"; exit 1; }
ask r1.example.com 1 5
ms=$(field max_ms)
check "upstream refuses (port unreachable): SERVFAIL in $ms ms" \
    '[ "$(field SERVFAIL)" = 1 ] && [ "$ms" -lt $((DEADLINE + 300)) ] && [ "$(audited r1.example.com SERVFAIL)" = 1 ]' "$A"
echo "# refused upstream: $(sql "SELECT reason FROM events WHERE qname = 'r1.example.com'")"

restart_with "$DEAD,$STUB" || { nok restart "isorund with upstreams $DEAD,$STUB"; exit 1; }
ask d2.example.com 1 5
ms=$(field max_ms)
check "first upstream dead, second alive: answered in $ms ms" \
    '[ "$(field NOERROR)" = 1 ] && [ "$(field a)" = 192.0.2.10 ] && [ "$ms" -lt $DEADLINE ]' "$A"

# dns_cache_bytes 0: no answer is kept, every question goes upstream
restart_with "$STUB" --dns-cache-bytes 0 || { nok restart "isorund with dns_cache_bytes 0"; exit 1; }
ask k1.example.com 1
ask k1.example.com 1
check "dns_cache_bytes 0: a question asked twice goes upstream twice" \
    '[ "$(field NOERROR)" = 1 ] && [ "$(relayed k1.example.com)" = 2 ]' "$A; relayed $(relayed k1.example.com)"

d_stop TERM
check "isorund stops cleanly (exit 0: no leak under ASan)" '[ "$DRC" = 0 ]' \
    "exit $DRC: $(tail -3 "$T/daemon.log")"
exit 0
