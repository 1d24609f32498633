#!/bin/sh
# ratelimit.sh - the gateway's per-sandbox rate limit of new connections
# (issue 7: one sandbox's flood must not slow another's traffic), against
# isorund in the closed universe.
#
# isorund runs with conn_rate 200/s and conn_burst 100. Sandbox A makes
# 3,000 connection attempts to a denied address as fast as one client goes:
# what passes the limit reaches the proxy (reset at accept, an audit event
# each), the rest is reset by the gateway's kernel (the client's connect
# is refused) and counted by A's nft counter. Judged by the nft counters in
# the gateway, the audit store and wan's counters: the counter equals the
# client's refused connects, the proxy saw no more than the limit lets
# through, and the blocked events' counts add up to the attempts exactly.
# Then the same for UDP datagrams of a blocked flow; then sandbox B under its
# limit is untouched; a destroy right after a flood still reports every
# attempt; the limit's objects go with the sandbox.
TEST=ratelimit
. "$(dirname "$0")/api_lib.sub"

RATE=200 BURST=100 N=3000
PY="python3 tests/net/ratelimit.py"
DB=$T/audit.db
GW=/run/netns/$R-gw
d_start --conn-rate $RATE --conn-burst $BURST ||
	{ nok start "isorund did not start"; exit 1; }
cli() { "$ISORUN" "$@" --socket "$SOCK"; }
slot() { sed -n 's/.*"slot":\([0-9]*\).*/\1/p' "$T/run/isorund/sandboxes/$1.json"; }
in_sb() { _s=$(slot "$1"); shift; nsenter --net="/run/netns/$R-sb$_s" "$@"; }
kv() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
# nft_refused PROTO ID: the gateway's counter of the sandbox's slot
nft_refused() {
	nsenter --net="$GW" nft list counter inet isorun "$1_refused_sb$(slot "$2")" 2>/dev/null |
	    awk '$1 == "packets" { print $2 }'
}
sql() { sqlite3 -cmd '.timeout 5000' "$DB" "$1"; }
# audit_sum ID PROTO RULE-CONDITION: the sum of counts of blocked connects
audit_sum() {
	sql "SELECT coalesce(sum(count), 0) FROM events WHERE sandbox = '$1'
	    AND event = 'connect' AND verdict = 'blocked' AND proto = '$2' AND $3"
}
# settle: the store is durable within a second; the poll runs once a second
settle() { sleep 2.5; }

cli create --id ra --allow 192.0.2.10 --deny 192.0.2.12 >/dev/null &&
    cli create --id rb --allow 192.0.2.10 >/dev/null ||
	{ nok create "$(tail -3 "$T/daemon.log")"; exit 1; }
check "each sandbox has its limit and counters in the gateway" \
    '[ "$(nft_refused tcp ra)" = 0 ] && [ "$(nft_refused udp ra)" = 0 ] &&
     [ "$(nft_refused tcp rb)" = 0 ] &&
     nsenter --net="$GW" nft list limit inet isorun "tcp_limit_sb$(slot ra)" |
     grep -q "rate over $RATE/second burst $BURST packets"' \
    "$(nsenter --net="$GW" nft list counters table inet isorun 2>&1 | head -20)"

universe_wan_reset "$U"
o=$(in_sb ra $PY tcp $N 192.0.2.12 80)
refused=$(kv "$o" refused) reset=$(kv "$o" reset) secs=$(kv "$o" seconds)
check "A's flood: every attempt refused or reset ($o)" \
    '[ "$(kv "$o" attempts)" = $N ] && [ $((refused + reset)) = $N ]' "$o"
# What passes the limit in the flood's time: the bucket (rate + burst), then
# the rate; a second of slack for the client's timing.
most=$(awk -v s="$secs" -v r=$RATE -v b=$BURST 'BEGIN { printf "%d", r + b + r * (s + 1) }')
check "the kernel refused what is over the limit ($refused of $N in $secs s; the proxy saw $reset, at most $most)" \
    '[ "$refused" -gt $((N / 2)) ] && [ "$reset" -le "$most" ] && [ "$reset" -ge $BURST ]' "$o"
check "A's tcp counter equals the connects the client saw refused ($refused)" \
    '[ "$(nft_refused tcp ra)" = "$refused" ]' "counter $(nft_refused tcp ra)"
settle
rl=$(audit_sum ra tcp "rule = 'rate-limit'")
px=$(audit_sum ra tcp "rule != 'rate-limit'")
check "audit: the blocked events' counts add up to the attempts ($rl rate-limit + $px from the proxy = $N)" \
    '[ "$rl" = "$refused" ] && [ "$px" = "$reset" ] && [ $((rl + px)) = $N ]' \
    "rate-limit $rl, proxy $px"
ev=$(sql "SELECT count(*) FROM events WHERE sandbox = 'ra' AND rule = 'rate-limit'")
reason=$(sql "SELECT reason FROM events WHERE sandbox = 'ra' AND rule = 'rate-limit' LIMIT 1")
check "audit: one rate-limit event per second, not per attempt ($ev events)" \
    '[ "$ev" -ge 1 ] && [ "$ev" -le $(( ${secs%.*} + 3 )) ]' "$ev"
check "audit: the reason says how many and the limit" \
    'echo "$reason" | grep -Eq "^[0-9]+ connection attempts over the sandbox.s limit of $RATE/s refused by the gateway$"' \
    "$reason"
json=$("$ISORUN" audit ra --json --verdict blocked --db "$DB" 2>&1 | grep '"rate-limit"' | head -1)
check "isorun audit --json shows the event with its count" \
    'echo "$json" | grep -q "\"count\":[0-9]"' "$json"
check "wan: nothing of A's flood arrived" \
    '[ "$(universe_wan_count "$U" tcp 192.0.2.12)" = 0 ]' \
    "$(universe_wan_count "$U" tcp 192.0.2.12) packets"

# UDP: a blocked flow's datagrams reach the relay's listener (it has no
# socket of its own), so they are limited; the counts add up too.
o=$(in_sb ra $PY udp $N 192.0.2.12 9999)
sent=$(kv "$o" sent)
settle
u=$(nft_refused udp ra)
url=$(audit_sum ra udp "rule = 'rate-limit'")
check "udp: the kernel refused the datagrams over the limit ($u of $sent)" \
    '[ "$u" -gt $((sent / 2)) ] && [ "$u" -lt "$sent" ]' "$o; counter $u"
check "udp: audit rate-limit count equals the counter ($url)" '[ "$url" = "$u" ]' \
    "audit $url, counter $u"
check "udp: nothing reached wan" '[ "$(universe_wan_count "$U" udp 192.0.2.12)" = 0 ]' \
    "$(universe_wan_count "$U" udp 192.0.2.12)"

# B under its limit: 100 fetches at 50/s, all served; its counters stay 0.
universe_wan_reset "$U"
o=$(in_sb rb $PY tcp 100 192.0.2.10 80 50)
# and a permitted UDP flow faster than the limit: once the relay has set
# it up (after its first datagram), its own socket takes the datagrams,
# not the listener
ou=$(in_sb rb $PY udp 2000 192.0.2.10 9999 0.3)
settle
check "B under the limit: every fetch answered ($o)" '[ "$(kv "$o" answered)" = 100 ]' "$o"
check "B: the wan server saw its 100 connections" \
    '[ "$(universe_wan_count "$U" tcp 192.0.2.10 80)" -gt 0 ] &&
     [ "$(sql "SELECT count(*) FROM events WHERE sandbox = '"'rb'"' AND event = '"'close'"' AND proto = '"'tcp'"'")" = 100 ]' \
    "close events $(sql "SELECT count(*) FROM events WHERE sandbox = 'rb' AND event = 'close'")"
check "B: a permitted UDP flow is not limited ($(kv "$ou" sent) sent; counter $(nft_refused udp rb))" \
    '[ "$(nft_refused udp rb)" = 0 ] && [ "$(universe_wan_count "$U" udp 192.0.2.10 9999)" -gt 0 ]' \
    "wan udp $(universe_wan_count "$U" udp 192.0.2.10 9999)"
check "B: no rate-limit event, counters 0" \
    '[ "$(nft_refused tcp rb)" = 0 ] &&
     [ "$(sql "SELECT count(*) FROM events WHERE sandbox = '"'rb'"' AND rule = '"'rate-limit'"'")" = 0 ]' \
    "tcp counter $(nft_refused tcp rb)"

# A flood, then destroy at once: the last second's refusals are reported by
# the destroy, under A's id.
before=$(audit_sum ra tcp "1")
sa=$(slot ra)
o=$(in_sb ra $PY tcp 1000 192.0.2.12 80)
cli destroy ra >/dev/null || nok destroy "$(tail -3 "$T/daemon.log")"
settle
after=$(audit_sum ra tcp "1")
check "destroy right after a flood: every attempt is in the audit ($((after - before)) = 1000)" \
    '[ $((after - before)) = 1000 ]' "$o; audit grew by $((after - before))"
left=$(nsenter --net="$GW" nft list ruleset | grep -c "_sb$sa\b")
check "destroy: the slot's limits, counters and map elements are gone" \
    '[ "$left" = 0 ]' "$(nsenter --net="$GW" nft list ruleset | grep "_sb$sa\b")"
d_stop
check "isorund stopped cleanly" '[ "$DRC" = 0 ]' "exit $DRC"
