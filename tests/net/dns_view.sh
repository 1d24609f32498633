#!/bin/sh
# dns_view.sh - the DNS view end to end (src/dns), in the closed universe of
# tests/net/lib/universe.sub.
#
# dnstool serve plays the runner inside U-host (entered with nsenter --net
# only, so the namespaces it names under /run/netns stay visible here): a
# gateway with three sandboxes and the DNS view, upstream the universe's
# dnsmasq on 192.0.2.53. Clients query from the sandbox namespaces, to the
# gateway, to the rogue resolver, to any address. Verdicts are judged by
# what reached the far side: dnsmasq's query logs (real and rogue), the
# wan's nft counters, the runner's cache as the proxy would read it, and
# the audit lines on the runner's stderr.
set -u
cd "$(dirname "$0")/../.."
B=${ISORUN_BUILD:-build/san}
DT=$B/tests/dnstool
if [ "$(id -u)" != 0 ]; then
	echo "ok - dns_view # skip: needs root"
	exit 0
fi
[ -x "$DT" ] || { echo "not ok - dns_view: $DT is not built (make)"; exit 1; }
. tests/net/lib/universe.sub
U=irt-$$
R=irt-$$d
T=$(mktemp -d)
DPID=''

cleanup() {
	exec 3>&- 2>/dev/null
	[ -n "$DPID" ] && { kill "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; }
	"$DT" purge "$R" >/dev/null 2>&1
	"$DT" purge "${R}2" >/dev/null 2>&1
	universe_down "$U"
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE

ok() { echo "ok - $1"; }
nok() { echo "not ok - $1: $2"; }
check() { if eval "$2"; then ok "$1"; else nok "$1" "$3"; fi; }

cat >"$T/extra.conf" <<'EOF'
host-record=mixed.test,192.0.2.11
host-record=mixed.test,192.0.2.12
txt-record=txt.test,"hello"
EOF
i=1
while [ $i -le 40 ]; do
	echo "host-record=big.test,203.0.113.$((100 + i))" >>"$T/extra.conf"
	i=$((i + 1))
done
# more than 1232 bytes: the upstream truncates over UDP, c-ares asks on TCP
i=150
while [ $i -lt 250 ]; do
	echo "host-record=huge.test,203.0.113.$i" >>"$T/extra.conf"
	i=$((i + 1))
done
UNIVERSE_DNS_EXTRA=$T/extra.conf
universe_up "$U" || { echo "not ok - dns_view: universe_up failed"; exit 1; }
DLOG=$(universe_dns_log "$U")
RLOG=$(universe_dns_log "$U" rogue)

# start NAME ARGS...: the runner in U-host; fd 3 is its stdin
start() {
	rm -f "$T/in" "$T/out" "$T/audit"
	mkfifo "$T/in"
	nsenter --net=/run/netns/"$U-host" "$DT" serve "$@" <"$T/in" \
	    >"$T/out" 2>"$T/audit" &
	DPID=$!
	exec 3>"$T/in"
	i=0
	while ! grep -q '^ready' "$T/out" 2>/dev/null && [ $i -lt 100 ]; do
		grep -q '^error' "$T/out" 2>/dev/null && break
		sleep 0.05; i=$((i + 1))
	done
	grep -q '^ready' "$T/out"
}

# stop: quit the runner, wait for it; its exit status in $rc
stop() {
	echo quit >&3
	exec 3>&-
	wait "$DPID"
	rc=$?
	DPID=''
}

# cmd LINE: sends a command, prints the runner's one-line answer (works in
# a subshell too: it counts the answers already there)
answers() { grep -v -e '^ready' -e '^sandbox ' "$T/out" 2>/dev/null; }
cmd() {
	n=$(answers | wc -l)
	echo "$*" >&3
	i=0
	while [ "$(answers | wc -l)" -le "$n" ] && [ $i -lt 100 ]; do
		sleep 0.02; i=$((i + 1))
	done
	answers | sed -n "$((n + 1))p"
}
sorted() { printf '%s' "$1" | tr ';' '\n' | sort | tr '\n' ';'; }

# q SB ARGS...: a dnstool query from sandbox SB; output on one line
q() {
	sb=$1
	shift
	ip netns exec "$RN-sb$sb" "$DT" query "$@" 2>&1 | tr '\n' ';'
}
raw() {
	sb=$1
	shift
	ip netns exec "$RN-sb$sb" "$DT" raw "$@" 2>&1 | tr '\n' ';'
}
logged() { grep -c -E -- "$1" "$DLOG"; }
ms_of() { echo "$1" | sed -n 's/.*(\([0-9]*\)ms).*/\1/p'; }

RN=$R
if start -f 2 "$R" 3; then ok "runner with the DNS view started in $U-host"; else
	nok "runner started" "$(cat "$T/out" "$T/audit" | head -5)"
	exit 1
fi
host_ns=$(readlink /proc/self/ns/net)
uhost_ns=$(ip netns exec "$U-host" readlink /proc/self/ns/net)
gw_ns=$(ip netns exec "$R-gw" readlink /proc/self/ns/net)
bad=''
for t in /proc/$DPID/task/*; do
	# but the nft worker, which lives in the gateway (src/gateway/nft.c)
	if [ "$(cat "$t/comm")" = isorun-nft ]; then
		[ "$(readlink "$t/ns/net")" = "$gw_ns" ] || bad="$bad nft:$t"
	else
		[ "$(readlink "$t/ns/net")" = "$uhost_ns" ] || bad="$bad $t"
	fi
done
check "every runner thread stays in the runner's namespace (nft's in the gateway)" \
    '[ -z "$bad" ] && [ "$host_ns" != "$uhost_ns" ]' "elsewhere:$bad"

# sb0 deny-list; sb1 allow-list (catch-all deny + names); sb2 locked-down
cmd "set 0 sb-deny - - blocked.test,*.exfil.test,192.0.2.12" >/dev/null
cmd "set 1 sb-allow - api.example.com,alias.test,github.com:22,rebind.test 0.0.0.0/0" >/dev/null
cmd "set 2 sb-locked refuse - 0.0.0.0/0" >/dev/null
check "three sandboxes attached" '[ "$(grep -c "^set " "$T/out")" = 3 ]' \
    "$(cat "$T/out")"
out=$(cmd "set 5000 x - - -")
check "a slot out of range is refused with a message naming it" \
    'echo "$out" | grep -q "^error DNS view: slot 5000 out of range (1024 slots)"' "got '$out'"
check "an unknown slot has no names" '[ "$(cmd names 5000 192.0.2.11)" = "names 5000 192.0.2.11:" ] &&
    [ "$(cmd names 7 192.0.2.11)" = "names 7 192.0.2.11:" ]' "$(tail -n 1 "$T/out")"

# --- a permitted name, UDP and TCP, IPv4 and IPv6, AAAA
out=$(q 0 100.64.0.1 api.example.com)
check "permitted name: answered with its address" \
    'echo "$out" | grep -q "^rcode=NOERROR an=1 .*;A 192.0.2.10;"' "got '$out'"
check "permitted name: the query reached the upstream from the runner host" \
    'universe_wait_file "$DLOG" "query\[A\] api\.example\.com from 198\.51\.100\.1" 3' \
    "$(tail -n 3 "$DLOG")"
out=$(q 0 100.64.0.1 api.example.com AAAA)
check "AAAA answered end to end" \
    'echo "$out" | grep -q "^rcode=NOERROR an=1 .*;AAAA 2001:db8:1::10;"' "got '$out'"
out=$(q 0 100.64.0.1 pypi.org AAAA)
check "AAAA for a v4-only name: NODATA at once" \
    'echo "$out" | grep -q "^rcode=NOERROR an=0" && [ "$(ms_of "$out")" -lt 1000 ]' \
    "got '$out'"
out=$(q 0 -t 100.64.0.1 allowed.test)
check "TCP query answered" 'echo "$out" | grep -q "^rcode=NOERROR an=1 .*;A 192.0.2.11;"' \
    "got '$out'"
out=$(q 0 2001:db8:4952::1 v6only.test AAAA)
check "query over IPv6 answered" \
    'echo "$out" | grep -q "^rcode=NOERROR an=1 .*;AAAA 2001:db8:1::11;"' "got '$out'"
out=$(ip netns exec "$R-sb0" "$DT" pipeline 100.64.0.1 api.example.com blocked.test \
    allowed.test 2>&1 | tr '\n' ';')
check "several queries on one TCP connection, each answered" \
    '[ "$(sorted "$out")" = "reply allowed.test rcode=NOERROR an=1;reply api.example.com rcode=NOERROR an=1;reply blocked.test rcode=NXDOMAIN an=0;" ]' \
    "got '$out'"

# --- any address on port 53 is the view: the rogue resolver and 8.8.8.8
universe_wan_reset "$U"
out4=$(q 0 203.0.113.53 other.test)
out6=$(q 0 2001:db8:1::1:53 other.test)
outt=$(q 0 -t 203.0.113.53 other.test)
out8=$(q 0 8.8.8.8 registry.npmjs.org)
check "queries to the rogue resolver and to 8.8.8.8 are answered by the view" \
    '[ "$(echo "$out4$out6$outt$out8" | tr ";" "\n" | grep -c "^rcode=NOERROR an=1")" = 4 ]' \
    "got '$out4' '$out6' '$outt' '$out8'"
check "the rogue resolver never saw a query" '! grep -q "query\[" "$RLOG"' \
    "$(grep "query\[" "$RLOG" | head -2)"
check "nothing reached the rogue resolver's addresses or 8.8.8.8, UDP or TCP" \
    '[ "$(universe_wan_count "$U" all 203.0.113.53)" = 0 ] &&
     [ "$(universe_wan_count "$U" all 2001:db8:1::1:53)" = 0 ] &&
     [ "$(universe_wan_count "$U" all 8.8.8.8)" = 0 ]' \
    "$(universe_wan_count "$U" all 203.0.113.53) packets"
check "the view asked the real upstream instead" \
    'universe_wait_file "$DLOG" "query\[A\] registry\.npmjs\.org from 198\.51\.100\.1" 3' \
    "no registry.npmjs.org in the log"
check "the reply came from the address the guest asked (its socket is connected)" \
    'echo "$out8" | grep -q "A 203.0.113.10"' "got '$out8'"

# --- denied names: NXDOMAIN, never upstream, audited
out=$(q 0 100.64.0.1 blocked.test)
out2=$(q 0 -t 8.8.8.8 BLOCKED.Test)
out3=$(q 0 100.64.0.1 c2VjcmV0.exfil.test)
q 0 100.64.0.1 marker1.example.com >/dev/null
universe_wait_file "$DLOG" 'marker1\.example\.com' 3
check "denied name: NXDOMAIN (UDP, TCP, any case)" \
    'echo "$out$out2" | grep -q "^rcode=NXDOMAIN an=0.*rcode=NXDOMAIN an=0"' \
    "got '$out' '$out2'"
check "denied wildcard (exfiltration through names): NXDOMAIN" \
    'echo "$out3" | grep -q "^rcode=NXDOMAIN"' "got '$out3'"
check "denied names never reached the upstream" \
    '[ "$(logged "blocked\.test|exfil\.test")" = 0 ]' "$(grep -E "blocked|exfil" "$DLOG")"
check "denied name audited with its rule" \
    'grep "\"qname\":\"blocked.test\"" "$T/audit" | grep "\"verdict\":\"blocked\"" |
     grep -q "\"rule\":\"blocked.test\""' "$(grep blocked.test "$T/audit" | head -2)"
check "denied wildcard audited with its rule and the sandbox id" \
    'grep "\"qname\":\"c2vjcmv0.exfil.test\"" "$T/audit" |
     grep "\"sandbox\":\"sb-deny\"" | grep -q "\"rule\":\"\*.exfil.test\""' \
    "$(grep exfil "$T/audit" | head -2)"

# --- answers stripped of blocked addresses
out=$(q 0 100.64.0.1 rebind.test)
check "rebinding to 169.254.169.254: resolves to nothing (NODATA)" \
    'echo "$out" | grep -q "^rcode=NOERROR an=0"' "got '$out'"
check "rebinding: audited as guard" \
    'grep "\"dst\":\"169.254.169.254\"" "$T/audit" | grep -q "\"rule\":\"guard\""' \
    "$(grep rebind "$T/audit" | head -3)"
out=$(q 0 100.64.0.1 loop.test)
out6=$(q 0 100.64.0.1 loop.test AAAA)
check "127.0.0.1 and ::1 stripped" \
    'echo "$out" | grep -q "^rcode=NOERROR an=0" && echo "$out6" | grep -q "^rcode=NOERROR an=0"' \
    "got '$out' '$out6'"
out=$(q 0 100.64.0.1 mixed.test)
check "an address a deny rule names is stripped, the others stay" \
    'echo "$out" | grep -q "^rcode=NOERROR an=1 .*;A 192.0.2.11;" &&
     ! echo "$out" | grep -q 192.0.2.12' "got '$out'"
check "no cache entry for a stripped address" \
    '[ "$(cmd names 0 169.254.169.254)" = "names 0 169.254.169.254:" ] &&
     [ "$(cmd names 0 192.0.2.12)" = "names 0 192.0.2.12:" ]' "$(tail -n 2 "$T/out")"

# --- CNAME chains in the cache; isolation between sandboxes
out=$(q 0 8.8.8.8 alias.test)
check "CNAME chain answered" \
    'echo "$out" | grep -q ";CNAME cname.test;.*;A 192.0.2.11;"' "got '$out'"
n0=$(cmd names 0 192.0.2.11)
check "the address is named by every name of the chain and the other lookups" \
    'for w in alias.test cname.test allowed.test mixed.test; do
	echo " $n0 " | grep -q " $w " || w=missing; [ $w != missing ] || break; done
     [ "$w" != missing ]' "got '$n0'"
check "maps: the resolver mapped alias.test to 192.0.2.11 (any case)" \
    '[ "$(cmd maps 0 ALIAS.test. 192.0.2.11)" = "maps yes" ] &&
     [ "$(cmd maps 0 alias.test 192.0.2.10)" = "maps no" ]' "$(tail -n 2 "$T/out")"
check "addrs: what alias.test resolved to" \
    '[ "$(cmd addrs 0 alias.test)" = "addrs alias.test: 192.0.2.11" ]' "$(tail -n 1 "$T/out")"
n1=$(cmd names 1 192.0.2.11)
check "another sandbox sees none of these names" '[ "$n1" = "names 1 192.0.2.11:" ]' \
    "got '$n1'"
out=$(q 1 100.64.0.5 alias.test)
n1=$(cmd names 1 192.0.2.11)
check "sandbox 1's own lookup names the address for it only" \
    '[ "$n1" = "names 1 192.0.2.11: alias.test cname.test" ]' "got '$n1'"

# --- allow-list sandbox
before=$(wc -l <"$DLOG")
out=$(q 1 100.64.0.5 api.example.com)
outg=$(q 1 100.64.0.5 github.com)
outn=$(q 1 100.64.0.5 allowed.test)
outw=$(q 1 100.64.0.5 www.example.com)
outr=$(q 1 100.64.0.5 rebind.test)
q 1 100.64.0.5 api.example.com AAAA >/dev/null
universe_wait_file "$DLOG" "query\[AAAA\] api\.example\.com" 3
check "allow-list: allowed names answered" \
    'echo "$out" | grep -q "^rcode=NOERROR an=1" && echo "$outg" | grep -q "^rcode=NOERROR an=1 .*A 192.0.2.11"' \
    "got '$out' '$outg'"
check "allow-list: a name allowed only with a port (github.com:22) resolves" \
    'tail -n +$((before + 1)) "$DLOG" | grep -q "query\[A\] github\.com "' "not forwarded"
check "allow-list: names no rule allows get NXDOMAIN" \
    'echo "$outn$outw" | grep -q "^rcode=NXDOMAIN.*rcode=NXDOMAIN"' "got '$outn' '$outw'"
check "allow-list: names no rule allows never reached the upstream" \
    '! tail -n +$((before + 1)) "$DLOG" | grep -q -E "allowed\.test|www\.example\.com"' \
    "$(tail -n +$((before + 1)) "$DLOG" | grep -E "allowed|www")"
check "allow-list: an allowed name resolving to a guarded address gets nothing" \
    'echo "$outr" | grep -q "^rcode=NOERROR an=0"' "got '$outr'"
check "allow-list: not-allowed names audited (rule default)" \
    'grep "\"qname\":\"www.example.com\"" "$T/audit" | grep "\"verdict\":\"blocked\"" |
     grep -q "\"rule\":\"default\""' \
    "$(grep www.example "$T/audit" | head -1)"

# --- the answer cache: a question asked again within its TTL (dnsmasq
#     gives 60 s) is answered without going upstream, per sandbox
n0=$(logged "query\[A\] github\.com ")
out=$(q 1 100.64.0.5 github.com)
out2=$(q 1 -t 100.64.0.5 GitHub.COM)
sleep 0.3
check "answer cache: asked again (UDP, TCP, other case): the same answer, upstream not asked" \
    'echo "$out" | grep -q "^rcode=NOERROR an=1 .*A 192.0.2.11" &&
     echo "$out2" | grep -q "^rcode=NOERROR an=1 .*A 192.0.2.11" &&
     [ "$(logged "query\[A\] github\.com ")" = "$n0" ] && [ "$n0" -ge 1 ]' \
    "got '$out' '$out2', upstream asked $(logged "query\[A\] github\.com ") times, $n0 before"
check "answer cache: audited as answered from the cache" \
    'grep "\"qname\":\"github.com\"" "$T/audit" | grep -q "answered from the cache"' \
    "$(grep github.com "$T/audit" | tail -n 1)"
check "answer cache: the address is named for the proxy as before" \
    '[ "$(cmd maps 1 github.com 192.0.2.11)" = "maps yes" ]' "$(tail -n 1 "$T/out")"
out=$(q 0 100.64.0.1 github.com)
n=0
while [ "$(logged "query\[A\] github\.com ")" != $((n0 + 1)) ] && [ $n -lt 30 ]; do
	sleep 0.1
	n=$((n + 1))
done
check "answer cache: another sandbox asking the same goes upstream (nothing shared)" \
    'echo "$out" | grep -q "^rcode=NOERROR an=1" && [ "$(logged "query\[A\] github\.com ")" = $((n0 + 1)) ]' \
    "got '$out', upstream asked $(logged "query\[A\] github\.com ") times, $n0 before"

# --- locked-down: REFUSED, nothing leaves
universe_wan_reset "$U"
before=$(wc -l <"$DLOG")
o1=$(q 2 100.64.0.9 api.example.com)
o2=$(q 2 -t 100.64.0.9 c2VjcmV0.exfil.test)
o3=$(q 2 203.0.113.53 allowed.test AAAA)
o4=$(q 2 2001:db8:4952:2::1 github.com)
check "locked-down: every name REFUSED, UDP and TCP, IPv4 and IPv6" \
    '[ "$(echo "$o1$o2$o3$o4" | tr ";" "\n" | grep -c "^rcode=REFUSED an=0")" = 4 ]' \
    "got '$o1' '$o2' '$o3' '$o4'"
check "locked-down: no query left the runner host" \
    '[ "$(wc -l <"$DLOG")" = "$before" ] && [ "$(universe_wan_count "$U" all)" = 0 ]' \
    "dns log grew by $(($(wc -l <"$DLOG") - before)), wan saw $(universe_wan_count "$U" all)"

# --- malformed and odd queries
out=$(raw 0 -T 500 100.64.0.1 12340100000100000000000003)
check "malformed query (header readable): FORMERR" \
    'echo "$out" | grep -q "^rcode=FORMERR .*id=4660"' "got '$out'"
out=$(raw 0 -t 100.64.0.1 abcd010000010000000000000561000001)
check "malformed query over TCP: FORMERR" 'echo "$out" | grep -q "^rcode=FORMERR"' \
    "got '$out'"
out=$(raw 0 -T 600 100.64.0.1 0102030405)
check "5 bytes: no reply" 'echo "$out" | grep -q "^timeout"' "got '$out'"
out=$(raw 0 -T 600 100.64.0.1 12348180000100000000000001610474657374000001000001)
check "a response sent as a query: no reply" 'echo "$out" | grep -q "^timeout"' "got '$out'"
out=$(raw 0 100.64.0.1 12340100000200000000000001610474657374000001000101620474657374000001000001)
check "two questions: FORMERR" 'echo "$out" | grep -q "^rcode=FORMERR"' "got '$out'"
out=$(raw 0 100.64.0.1 1234010000010000000000000776657273696f6e0462696e640000100003)
check "class CH: REFUSED" 'echo "$out" | grep -q "^rcode=REFUSED"' "got '$out'"
out=$(raw 0 100.64.0.1 12340100000100010000000001610474657374000001000001c00c0001000100000e100004c0000201)
check "an answer record inside a query: FORMERR" 'echo "$out" | grep -q "^rcode=FORMERR"' \
    "got '$out'"
check "nothing malformed reached the upstream" '! grep -q "version\.bind" "$DLOG" &&
    ! grep -q "query\[A\] a\.test" "$DLOG" && ! grep -q "query\[A\] b\.test" "$DLOG"' \
    "$(grep -E "version|a\.test" "$DLOG")"
out=$(q 0 100.64.0.1 txt.test TXT)
check "other record types for a permitted name pass" 'echo "$out" | grep -q "^rcode=NOERROR an=1 .*;TXT;"' \
    "got '$out'"

# --- big answers: TC over UDP without EDNS, whole over TCP and with EDNS
out=$(q 0 100.64.0.1 big.test)
check "big answer over UDP without EDNS: truncated" 'echo "$out" | grep -q "^rcode=NOERROR an=0 tc=1"' \
    "got '$out'"
out=$(q 0 -t 100.64.0.1 big.test)
check "big answer over TCP: whole" 'echo "$out" | grep -q "^rcode=NOERROR an=40 tc=0"' "got '$out'"
out=$(q 0 -e 100.64.0.1 big.test)
check "big answer over UDP with EDNS: whole" 'echo "$out" | grep -q "^rcode=NOERROR an=40 tc=0"' \
    "got '$out'"

universe_wan_reset "$U"
out=$(q 0 -t 100.64.0.1 huge.test)
check "upstream answer over 1232 bytes: c-ares retried on TCP" \
    '[ "$(universe_wan_count "$U" tcp 192.0.2.53 53)" -gt 0 ]' \
    "no TCP to 192.0.2.53:53 ($(universe_wan_count "$U" udp 192.0.2.53 53) UDP)"
check "a 100-address answer: 64 kept and cached, the rest stripped" \
    'echo "$out" | grep -q "^rcode=NOERROR an=64 tc=0" &&
     [ "$(cmd addrs 0 huge.test | wc -w)" = 66 ]' "got '$(echo "$out" | cut -c1-60)' $(tail -n 1 "$T/out" | cut -c1-60)"

# --- TTL floor and holds (the runner runs with a 2 s floor)
out=$(q 0 100.64.0.1 short.test)
sleep 1.3
check "short.test (TTL 1 s) still named after 1.3 s: the floor" \
    '[ "$(cmd maps 0 short.test 192.0.2.11)" = "maps yes" ]' "$(tail -n 1 "$T/out")"
cmd hold 0 192.0.2.11 >/dev/null
sleep 1.2
check "past the floor, a held address keeps its names" \
    '[ "$(cmd maps 0 short.test 192.0.2.11)" = "maps yes" ]' "$(tail -n 1 "$T/out")"
cmd release 0 192.0.2.11 >/dev/null
check "released: the expired name is gone" \
    '[ "$(cmd maps 0 short.test 192.0.2.11)" = "maps no" ]' "$(tail -n 1 "$T/out")"

# --- live policy change
cmd "set 0 sb-deny - - blocked.test,api.example.com" >/dev/null
n0=$(cmd names 0 192.0.2.10)
out=$(q 0 100.64.0.1 api.example.com)
check "live change: the cached name the new policy denies is dropped" \
    '! echo "$n0" | grep -q "api.example.com"' "got '$n0'"
check "live change: the next query follows the new policy" \
    'echo "$out" | grep -q "^rcode=NXDOMAIN"' "got '$out'"
n0=$(logged "query\[A\] mixed\.test ")
out=$(q 0 100.64.0.1 mixed.test)
check "live change: an address no longer denied comes back, from the kept answer" \
    'echo "$out" | grep -q "A 192.0.2.12" && [ "$(logged "query\[A\] mixed\.test ")" = "$n0" ]' \
    "got '$out', upstream asked $(logged "query\[A\] mixed\.test ") times, $n0 before"
# the kept answer is filtered with the policy of now: a newly denied address
# is stripped from it, never served from the cache
n0=$(logged "query\[A\] alias\.test ")
cmd "set 0 sb-deny - - blocked.test,api.example.com,192.0.2.11" >/dev/null
out=$(q 0 100.64.0.1 alias.test)
check "live change: a newly denied address is stripped from a kept answer" \
    'echo "$out" | grep -q "^rcode=NOERROR an=1 .*CNAME cname.test" && ! echo "$out" | grep -q "192.0.2.11" &&
     [ "$(logged "query\[A\] alias\.test ")" = "$n0" ]' \
    "got '$out', upstream asked $(logged "query\[A\] alias\.test ") times, $n0 before"
cmd "clear 1" >/dev/null
out=$(q 1 100.64.0.5 api.example.com)
check "a cleared sandbox gets REFUSED and has no names" \
    'echo "$out" | grep -q "^rcode=REFUSED" && [ "$(cmd names 1 192.0.2.11)" = "names 1 192.0.2.11:" ]' \
    "got '$out'"

st=$(cmd stats)
stop
check "runner stopped cleanly" '[ "$rc" = 0 ] && ! grep -q -i sanitizer "$T/audit"' \
    "rc=$rc $(grep -i -A3 sanitizer "$T/audit" | head -5)"
check "runner removed its namespaces" '! ls /run/netns | grep -q "^$R-"' \
    "$(ls /run/netns | grep "^$R-")"
check "stats counted what happened" 'echo "$st" | grep -q "blocked=[1-9]" &&
    echo "$st" | grep -q "stripped=[1-9]" && echo "$st" | grep -q "tcp=[1-9]"' "$st"

# --- the query rate limit: a sandbox over it gets REFUSED at once, nothing
#     goes upstream for those, the others are untouched, the audit counts
RN=${R}3
if start -q 100 -b 100 "${R}3" 2; then
	cmd "set 0 rl-a - - -" >/dev/null
	cmd "set 1 rl-b - - -" >/dev/null
	n0=$(logged "query\[A\] rl[0-9]*\.example\.com ")
	A=$(ip netns exec "${R}3-sb0" python3 tests/faults/dnsburst.py 100.64.0.1 'rl%d.example.com' 600 5 2>&1)
	ok_n=$(echo "$A" | tr ' ' '\n' | sed -n 's/^NOERROR://p')
	ref_n=$(echo "$A" | tr ' ' '\n' | sed -n 's/^REFUSED://p')
	out=$(q 1 100.64.0.5 api.example.com)
	sleep 0.5
	up=$(($(logged "query\[A\] rl[0-9]*\.example\.com ") - n0))
	check "rate limit: 600 queries at once, about the burst answered (${ok_n:-0}), the rest REFUSED (${ref_n:-0})" \
	    '[ "${ok_n:-0}" -ge 100 ] && [ "${ok_n:-0}" -le 200 ] && [ $((${ok_n:-0} + ${ref_n:-0})) = 600 ]' "$A"
	check "rate limit: only the answered ones reached the upstream ($up)" \
	    '[ "$up" = "${ok_n:-x}" ]' "upstream saw $up, answered ${ok_n:-0}"
	check "rate limit: another sandbox is answered meanwhile" \
	    'echo "$out" | grep -q "^rcode=NOERROR an=1"' "got '$out'"
	sleep 1.2
	cnt=$(grep '"rule":"rate-limit"' "$T/audit" | grep '"sandbox":"rl-a"' |
	    sed -n 's/.*"count":\([0-9]*\).*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
	check "rate limit: audited once a second with the count ($cnt events' worth)" \
	    '[ "$cnt" = "${ref_n:-x}" ] && grep "\"rule\":\"rate-limit\"" "$T/audit" | grep -q "over the sandbox.s limit of 100/s"' \
	    "$(grep rate-limit "$T/audit" | head -2)"
	st=$(cmd stats)
	check "rate limit: counted in the stats" 'echo "$st" | grep -q "limited=${ref_n:-x}\b"' "$st"
	stop
	check "rate-limited runner stopped cleanly" '[ "$rc" = 0 ] && ! grep -q -i sanitizer "$T/audit"' "rc=$rc"
else
	nok "rate-limited runner" "$(cat "$T/out" "$T/audit" | head -5)"
fi

# --- a bad upstream list: the view does not start, nothing is left behind
RN=${R}2
if start -u 'bogus!' "${R}2" 1; then
	nok "bad upstream list refused" "it started"
	stop
else
	wait "$DPID"
	rc=$?
	DPID=''
	exec 3>&-
	check "bad upstream list: the view refuses to start and says why" \
	    '[ "$rc" != 0 ] && grep -q "^error DNS view: upstreams .bogus!.: " "$T/out"' \
	    "rc=$rc $(cat "$T/out")"
	check "bad upstream list: no namespace left behind" '! ls /run/netns | grep -q "^${R}2-"' \
	    "$(ls /run/netns | grep "^${R}2-")"
fi

# --- upstream down: refused, then silent; SERVFAIL quickly either way
universe_wan_addr "$U" 192.0.2.54
if start -u 192.0.2.54 "${R}2" 1; then
	cmd "set 0 x - - -" >/dev/null
	out=$(q 0 100.64.0.1 api.example.com)
	check "upstream refusing (port unreachable): SERVFAIL in under 2 s" \
	    'echo "$out" | grep -q "^rcode=SERVFAIL" && [ "$(ms_of "$out")" -lt 2000 ]' "got '$out'"
	check "upstream failure audited" 'grep -q "\"rcode\":\"SERVFAIL\"" "$T/audit"' \
	    "$(tail -n 2 "$T/audit")"
	stop
else
	nok "second runner" "$(cat "$T/out" "$T/audit" | head -5)"
fi
if start -u 192.0.2.99 "${R}2" 1; then
	cmd "set 0 x - - -" >/dev/null
	out=$(q 0 -T 4000 100.64.0.1 api.example.com)
	out2=$(q 0 -t -T 4000 100.64.0.1 www.example.com)
	check "upstream silent: SERVFAIL in under 2 s (UDP)" \
	    'echo "$out" | grep -q "^rcode=SERVFAIL" && [ "$(ms_of "$out")" -lt 2000 ]' "got '$out'"
	check "upstream silent: SERVFAIL in under 2 s (TCP)" \
	    'echo "$out2" | grep -q "^rcode=SERVFAIL" && [ "$(ms_of "$out2")" -lt 2000 ]' "got '$out2'"
	stop
	check "second runner stopped cleanly" '[ "$rc" = 0 ] && ! grep -q -i sanitizer "$T/audit"' \
	    "rc=$rc"
else
	nok "third runner" "$(cat "$T/out" "$T/audit" | head -5)"
fi
exit 0
