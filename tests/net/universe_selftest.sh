#!/bin/sh
# universe_selftest.sh - the closed test universe (tests/net/lib) itself.
#
# Brings a universe up, talks to every server from NAME-host over IPv4 and
# IPv6, and judges by what arrived: the wan log, dnsmasq's query log, the
# host-service log and the nftables counters in NAME-wan. Then the error
# paths (bad names, existing namespaces, a server that fails to start, a
# test killed midway) and that universe_down leaves nothing behind.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/net/lib/universe.sub
U=irt-$$
U2=irt-${$}b
U3=irt-${$}c
LIB=tests/net/lib
T=$(mktemp -d)
PY=$(_universe_py)

ok() { echo "ok - $1"; }
nslist() { ls /run/netns 2>/dev/null; }
nok() { echo "not ok - $1: $2"; }
check() {	# check NAME SH-CONDITION WHY
	if eval "$2"; then ok "$1"; else nok "$1" "$3"; fi
}

if [ "$(id -u)" != 0 ]; then
	echo "ok - universe_selftest # skip: needs root"
	exit 0
fi

cleanup() {
	universe_down "$U" 2>/dev/null
	universe_down "$U2" 2>/dev/null
	universe_down "$U3" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

h() { universe_host "$U" "$@"; }
# logged NAME ERE: a line of the wan log matches
logged() {
	if universe_wait_log "$U" "$2" 3; then ok "$1"; else
		nok "$1" "no wan log line matches '$2'; log: $(tail -n 3 "$UNIVERSE_WAN_LOG" | tr '\n' ' ')"
	fi
}
# dns_logged NAME ERE [rogue]
dns_logged() {
	if universe_wait_file "$(universe_dns_log "$U" "${3:-}")" "$2" 3; then ok "$1"; else
		nok "$1" "no dnsmasq log line matches '$2'"
	fi
}
# same NAME GOT WANT
same() {
	if [ "$2" = "$3" ]; then ok "$1"; else nok "$1" "got '$2', want '$3'"; fi
}

# --- up (with an extra certificate name and DNS record)
printf 'host-record=extra.test,192.0.2.12\ncname=alias2.test,extra.test\n' >"$T/extra.conf"
t0=$(date +%s%N)
if UNIVERSE_TLS_NAMES='extra.test *.extra.test' UNIVERSE_DNS_EXTRA="$T/extra.conf" \
    universe_up "$U"; then ok "universe_up"; else
	nok "universe_up" "failed"
	exit 1
fi
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
check "universe_up takes under 3 s" '[ "$ms" -lt 3000 ]' "took $ms ms"
echo "# universe_up took $ms ms"
check "env file names the universe" \
    '( . "$UNIVERSE_DIR/env"; [ "$UNIVERSE_WAN_NS" = "$U-wan" ] &&
       [ "$UNIVERSE_HOST_NS" = "$U-host" ] && [ -s "$UNIVERSE_CA" ] )' \
    "$(cat "$UNIVERSE_DIR/env" 2>&1 | head -n 3)"
check "namespaces exist" \
    'nslist | grep -q "^$U-host\b" && nslist | grep -q "^$U-wan\b"' \
    "$(nslist | tr '\n' ' ')"
universe_check_closed "$U" 2>"$T/closed"
rc=$?
check "both namespaces are closed (only lo and the veth, no default route)" \
    '[ $rc -eq 0 ]' "$(cat "$T/closed")"
ip -n "$U-host" link add irtx0 type veth peer name irtx1 &&
    ip -n "$U-host" link set irtx0 up && ip -n "$U-host" link set irtx1 up &&
    ip -n "$U-host" route add 10.99.0.0/16 dev irtx0
universe_check_closed "$U" 2>"$T/closed"
rc=$?
ip -n "$U-host" link del irtx0
check "universe_check_closed sees an extra interface and its route" \
    '[ $rc -ne 0 ] && grep -q "links are .*irtx0" "$T/closed" &&
     grep -q "10.99.0.0/16 dev irtx0" "$T/closed"' "rc=$rc: $(cat "$T/closed")"
universe_check_closed "$U" 2>"$T/closed"
rc=$?
check "... and is quiet again once it is gone" '[ $rc -eq 0 ]' "$(cat "$T/closed")"
fwd=$(universe_wan "$U" cat /proc/sys/net/ipv4/ip_forward \
    /proc/sys/net/ipv6/conf/all/forwarding | tr '\n' ' ')
same "wan forwarding is off" "$fwd" "0 0 "
r=$(ip -n "$U-host" -4 route show | sort | tr '\n' ';')
same "host routes: the link and the wan prefixes" "$r" \
    "192.0.2.0/24 via 198.51.100.2 dev wan0 ;198.51.100.0/24 dev wan0 proto kernel scope link src 198.51.100.1 ;203.0.113.0/24 via 198.51.100.2 dev wan0 ;"
check "the CA signed the leaf" \
    'openssl verify -CAfile "$UNIVERSE_CA" "$UNIVERSE_CERT" >/dev/null 2>&1' \
    "$(openssl verify -CAfile "$UNIVERSE_CA" "$UNIVERSE_CERT" 2>&1)"
case $UNIVERSE_DIR in
/work/*|"$PWD"/*) nok "temp dir is outside the repo" "$UNIVERSE_DIR" ;;
*) ok "temp dir is outside the repo" ;;
esac
sleep 0.2
same "wan counters are 0 before any traffic" \
    "$(universe_wan_count "$U") $(universe_wan_count "$U" tcp) $(universe_wan_count "$U" udp)" \
    "0 0 0"
same "wan log is empty before any traffic" "$(wc -c <"$UNIVERSE_WAN_LOG")" 0

# --- HTTP
out=$(h curl -sS -m 5 -H 'Host: api.example.com' http://192.0.2.10/x 2>&1)
same "http answer names address, Host and path" "$out" \
    "wan 192.0.2.10 host=api.example.com path=/x"
logged "http request logged" \
    '"proto":"tcp","server":"http","dst":"192.0.2.10","dport":80,"src":"198.51.100.1",.*"host":"api.example.com","path":"/x"'
out=$(h curl -sS -m 5 http://203.0.113.11:8080/p 2>&1)
same "http on 8080" "$out" "wan 203.0.113.11 host=203.0.113.11:8080 path=/p"
logged "http 8080 logged" '"dst":"203.0.113.11","dport":8080,.*"path":"/p"'
out=$(h curl -sS -m 5 -g -H 'Host: www.example.com' 'http://[2001:db8:1::11]/v6' 2>&1)
same "http over IPv6" "$out" "wan 2001:db8:1::11 host=www.example.com path=/v6"
logged "http over IPv6 logged" \
    '"dst":"2001:db8:1::11","dport":80,"src":"2001:db8:ffff::1",.*"host":"www.example.com"'

# static files, per-host first
mkdir -p "$UNIVERSE_WWW/pypi.org/simple/six" "$UNIVERSE_WWW/files"
echo '<a href="six-1.0.tar.gz">six</a>' >"$UNIVERSE_WWW/pypi.org/simple/six/index.html"
echo 'plain file' >"$UNIVERSE_WWW/files/a.txt"
out=$(h curl -sS -m 5 -H 'Host: pypi.org' http://203.0.113.11/simple/six/ 2>&1)
same "static file under the Host's folder" "$out" '<a href="six-1.0.tar.gz">six</a>'
out=$(h curl -sS -m 5 -H 'Host: any.test' http://203.0.113.11/files/a.txt 2>&1)
same "static file under the root" "$out" 'plain file'
code=$(h curl -s -o /dev/null -w '%{http_code}' -m 5 http://192.0.2.10/status/404)
same "/status/404" "$code" 404
n=$(h curl -s -m 5 http://192.0.2.10/bytes/300000 | wc -c)
same "/bytes/300000" "$n" 300000
logged "/bytes logged with bytes_out" '"path":"/bytes/300000",.*"bytes_out":300[0-9]{3}'
out=$(h curl -s -m 5 http://192.0.2.10/../../etc/passwd --path-as-is 2>&1)
same "no path escapes the root" "$out" "wan 192.0.2.10 host=192.0.2.10 path=/../../etc/passwd"
# two requests on one connection: one log line with both paths
h curl -s -m 5 http://192.0.2.12/k1 http://192.0.2.12/k2 >/dev/null
logged "keep-alive connection logged once with its paths" \
    '"path":"/k1",.*"requests":2,.*"paths":\["/k1","/k2"\]'

out=$(printf 'GET /lf HTTP/1.1\nHost: lf.test\nConnection: close\n\n' |
    h socat -t 2 - TCP:192.0.2.10:80 | tail -n 1)
same "http with bare LF line ends" "$out" "wan 192.0.2.10 host=lf.test path=/lf"
out=$(printf 'NONSENSE\r\n\r\n' | h socat -t 2 - TCP:192.0.2.10:80 | head -n 1 | tr -d '\r')
same "a malformed request gets 400" "$out" "HTTP/1.1 400 Bad Request"
logged "... and is logged with an error" '"dst":"192.0.2.10","dport":80,.*"error":"bad request line"'
printf 'GET /trunc HTTP/1.1\r\nHost: t' | h socat -t 2 - TCP:192.0.2.10:80 >/dev/null
logged "a truncated request head is logged" '"error":"truncated request head"'

# --- HTTPS
out=$(h curl -sS -m 5 --cacert "$UNIVERSE_CA" \
    --resolve api.example.com:443:192.0.2.10 https://api.example.com/t 2>&1)
same "https with the test CA" "$out" "wan 192.0.2.10 host=api.example.com path=/t"
logged "https logged with SNI and Host" \
    '"server":"https","dst":"192.0.2.10","dport":443,.*"sni":"api.example.com","host":"api.example.com","path":"/t"'
out=$(h curl -sS -m 5 -g --cacert "$UNIVERSE_CA" \
    --resolve 'pypi.org:443:[2001:db8:1::12]' https://pypi.org/6 2>&1)
same "https over IPv6" "$out" "wan 2001:db8:1::12 host=pypi.org path=/6"
logged "https over IPv6 logged" '"dst":"2001:db8:1::12","dport":443,.*"sni":"pypi.org"'
out=$(h curl -sS -m 5 --cacert "$UNIVERSE_CA" \
    --resolve x.example.com:443:192.0.2.11 https://x.example.com/w 2>&1)
same "https for *.example.com" "$out" "wan 192.0.2.11 host=x.example.com path=/w"
out=$(h curl -sS -m 5 --cacert "$UNIVERSE_CA" https://203.0.113.10/ip 2>&1)
same "https to an IP literal (IP SAN)" "$out" "wan 203.0.113.10 host=203.0.113.10 path=/ip"
h curl -s -m 5 --resolve blocked.test:443:192.0.2.12 https://blocked.test/ >/dev/null 2>&1
rc=$?
check "https without the CA fails" '[ "$rc" -ne 0 ]' "curl exited $rc"
logged "failed handshake still logs the SNI" \
    '"dst":"192.0.2.12","dport":443,.*"sni":"blocked.test",.*"error":"tls: '
h curl -s -m 5 --cacert "$UNIVERSE_CA" --resolve nope.invalid:443:192.0.2.12 \
    https://nope.invalid/ >/dev/null 2>&1
rc=$?
check "a name not on the certificate fails" '[ "$rc" -eq 60 ]' "curl exited $rc"

ip=$(h "$PY" -I "$LIB/dnsq.py" 192.0.2.53 extra.test | awk '$3 == "A" { print $4 }')
same "UNIVERSE_DNS_EXTRA record" "$ip" 192.0.2.12
same "UNIVERSE_DNS_EXTRA CNAME" "$(h "$PY" -I "$LIB/dnsq.py" 192.0.2.53 alias2.test | tr '\n' ';')" \
    "status: NOERROR;alias2.test 60 CNAME extra.test;extra.test 60 A 192.0.2.12;"
out=$(h curl -sS -m 5 --cacert "$UNIVERSE_CA" --resolve "a.extra.test:443:$ip" \
    https://a.extra.test/e 2>&1)
same "UNIVERSE_TLS_NAMES on the certificate" "$out" "wan 192.0.2.12 host=a.extra.test path=/e"

# --- banner, echo, sink
out=$(printf 'hello\n' | h socat -t 1 - TCP:203.0.113.10:22 2>&1 | tr -d '\r' | tr '\n' ' ')
same "ssh-like banner then echo" "$out" "SSH-2.0-wan hello "
logged "banner logged" '"server":"banner","dst":"203.0.113.10","dport":22,.*"bytes_in":6,"bytes_out":19'
out=$(printf 'ping6\n' | h socat -t 1 - 'TCP6:[2001:db8:1::10]:7' 2>&1)
same "tcp echo over IPv6" "$out" "ping6"
logged "tcp echo logged" '"server":"echo","dst":"2001:db8:1::10","dport":7,'
out=$(head -c 1000000 /dev/zero | h socat -t 2 - TCP:192.0.2.11:5001 2>&1)
same "sink reports the bytes it read" "$out" 1000000
logged "sink logged" '"server":"sink","dst":"192.0.2.11","dport":5001,.*"bytes_in":1000000'

# --- UDP
out=$(printf 'u4' | h socat -t 0.3 - UDP:192.0.2.11:9999 2>&1)
same "udp echo on 9999" "$out" "u4"
logged "udp echo logged with the address it was sent to" \
    '"proto":"udp","server":"udp-echo","dst":"192.0.2.11","dport":9999,"src":"198.51.100.1",.*"bytes_in":2,"bytes_out":2'
out=$(printf 'u6' | h socat -t 0.3 - 'UDP6:[2001:db8:1::11]:7' 2>&1)
same "udp echo over IPv6" "$out" "u6"
logged "udp over IPv6 logged" '"proto":"udp","server":"udp-echo","dst":"2001:db8:1::11","dport":7,'

# --- DNS (a tiny python3 client: tests/net/lib/dnsq.py)
q() { h "$PY" -I "$LIB/dnsq.py" "$@" 2>&1 | tr '\n' ';'; }
same "dns A" "$(q 192.0.2.53 api.example.com)" "status: NOERROR;api.example.com 60 A 192.0.2.10;"
same "dns AAAA over IPv6" "$(q 2001:db8:1::53 api.example.com AAAA)" \
    "status: NOERROR;api.example.com 60 AAAA 2001:db8:1::10;"
same "dns over TCP" "$(q --tcp 192.0.2.53 allowed.test)" "status: NOERROR;allowed.test 60 A 192.0.2.11;"
same "dns CNAME chain" "$(q 192.0.2.53 alias.test)" \
    "status: NOERROR;alias.test 60 CNAME cname.test;cname.test 60 A 192.0.2.11;"
same "dns several A records" "$(q 192.0.2.53 multi.test | tr ';' '\n' | sort | tr '\n' ';')" \
    "multi.test 60 A 192.0.2.10;multi.test 60 A 192.0.2.11;status: NOERROR;"
same "dns rebinding name" "$(q 192.0.2.53 rebind.test)" "status: NOERROR;rebind.test 60 A 169.254.169.254;"
same "dns wildcard *.example.com" "$(q 192.0.2.53 deep.x.example.com)" \
    "status: NOERROR;deep.x.example.com 60 A 192.0.2.10;"
same "dns v4-only name has no AAAA" "$(q 192.0.2.53 pypi.org AAAA)" "status: NOERROR;"
same "dns short TTL" "$(q 192.0.2.53 short.test)" "status: NOERROR;short.test 1 A 192.0.2.11;"
same "dns unknown name is NXDOMAIN" "$(q 192.0.2.53 exfil-secret.unknown.test)" "status: NXDOMAIN;"
dns_logged "dnsmasq logged the A query" 'query\[A\] api\.example\.com from 198\.51\.100\.1'
dns_logged "dnsmasq logged the IPv6 query" 'query\[AAAA\] api\.example\.com from 2001:db8:ffff::1'
dns_logged "dnsmasq logged the unknown name" 'query\[A\] exfil-secret\.unknown\.test'
check "rogue resolver saw none of it" '! grep -q query "$(universe_dns_log "$U" rogue)"' \
    "$(grep query "$(universe_dns_log "$U" rogue)" | head -n 2)"
same "rogue resolver answers too" "$(q 203.0.113.53 other.test)" "status: NOERROR;other.test 60 A 203.0.113.10;"
dns_logged "rogue resolver logs to its own file" 'query\[A\] other\.test from 198\.51\.100\.1' rogue
universe_dns_add "$U" added.test 203.0.113.10 2001:db8:1::12
same "universe_dns_add: live A" "$(q 192.0.2.53 added.test)" "status: NOERROR;added.test 60 A 203.0.113.10;"
same "universe_dns_add: live AAAA" "$(q 192.0.2.53 added.test AAAA)" "status: NOERROR;added.test 60 AAAA 2001:db8:1::12;"

# --- host service and ICMP
out=$(printf 'x\n' | h socat -t 1 - TCP:198.51.100.1:8022 2>&1 | head -n 1 | tr -d '\r')
same "host service answers on the host's address" "$out" "HOST-SERVICE"
if universe_wait_file "$UNIVERSE_HOST_LOG" '"server":"hostsvc","dst":"198.51.100.1","dport":8022' 3; then
	ok "host service logged the connection"
else
	nok "host service logged the connection" "$(cat "$UNIVERSE_HOST_LOG")"
fi
out=$(printf 'x\n' | h socat -t 1 - 'TCP6:[2001:db8:ffff::1]:8022' 2>&1 | head -n 1 | tr -d '\r')
same "host service on IPv6" "$out" "HOST-SERVICE"
out=$(h "$PY" -I "$LIB/ping.py" 192.0.2.12 2>&1)
same "icmp echo" "$out" "reply from 192.0.2.12"
out=$(h "$PY" -I "$LIB/ping.py" 2001:db8:1::12 2>&1)
same "icmpv6 echo" "$out" "reply from 2001:db8:1::12"

# --- counters
c_tcp=$(universe_wan_count "$U" tcp)
c_udp=$(universe_wan_count "$U" udp)
c_all=$(universe_wan_count "$U")
check "tcp counted" '[ "$c_tcp" -gt 50 ]' "tcp=$c_tcp"
check "udp counted" '[ "$c_udp" -ge 10 ]' "udp=$c_udp"
same "icmp counted" "$(universe_wan_count "$U" icmp) $(universe_wan_count "$U" icmpv6)" "1 1"
same "other protocols: none" "$(universe_wan_count "$U" other)" 0
check "all = tcp + udp + icmp + icmpv6 + other" \
    '[ "$c_all" -eq $((c_tcp + c_udp + 2)) ]' "all=$c_all tcp=$c_tcp udp=$c_udp"
same "per address and port: udp 192.0.2.11:9999" \
    "$(universe_wan_count "$U" udp 192.0.2.11 9999)" 1
same "per address: icmp to 192.0.2.12" "$(universe_wan_count "$U" icmp 192.0.2.12)" 1
same "per address: IPv6 written in another form" \
    "$(universe_wan_count "$U" icmpv6 2001:0db8:0001:0:0:0:0:12)" 1
check "per address and port: tcp 192.0.2.10:443" \
    '[ "$(universe_wan_count "$U" tcp 192.0.2.10 443)" -gt 3 ]' \
    "$(universe_wan_count "$U" tcp 192.0.2.10 443)"
same "per address: nothing to an unused address" "$(universe_wan_count "$U" all 192.0.2.200)" 0
universe_wan_reset "$U"
same "universe_wan_reset zeroes the counters" \
    "$(universe_wan_count "$U") $(universe_wan_count "$U" udp 192.0.2.11 9999)" "0 0"
out=$(universe_wan_count "$U" sctp 2>&1)
rc=$?
check "universe_wan_count: bad protocol is an error naming it" \
    '[ $rc -ne 0 ] && echo "$out" | grep -q "sctp"' "rc=$rc: $out"

universe_logs_reset "$U"
same "universe_logs_reset empties the logs" \
    "$(cat "$UNIVERSE_WAN_LOG" "$UNIVERSE_DNS_LOG" "$UNIVERSE_HOST_LOG" | wc -c)" 0
h curl -s -m 5 http://192.0.2.10/after-reset >/dev/null
logged "the log goes on after a reset" '"path":"/after-reset"'
same "... from its first line" "$(grep -c . "$UNIVERSE_WAN_LOG")" 1

# --- more addresses
universe_wan_addr "$U" 192.0.2.77 2001:db8:1::77
out=$(h curl -sS -m 5 http://192.0.2.77/ 2>&1)
same "universe_wan_addr: served at once" "$out" "wan 192.0.2.77 host=192.0.2.77 path=/"
out=$(printf 'a' | h socat -t 0.3 - 'UDP6:[2001:db8:1::77]:7' 2>&1)
same "universe_wan_addr: udp answers from the new address" "$out" "a"
out=$(universe_wan_addr "$U" 10.0.0.1 2>&1)
rc=$?
check "universe_wan_addr: an address outside the plan is refused" \
    '[ $rc -ne 0 ] && echo "$out" | grep -q "10.0.0.1"' "rc=$rc: $out"
check "... and not added" '! ip -n "$U-wan" addr show | grep -q 10.0.0.1' "added"

universe_wan_route_back "$U" 100.80.0.0/16 2001:db8:4000::/48
r=$(ip -n "$U-wan" route show 100.80.0.0/16; ip -n "$U-wan" -6 route show 2001:db8:4000::/48)
check "universe_wan_route_back adds routes via the host" \
    'echo "$r" | grep -q "100.80.0.0/16 via 198.51.100.1 dev host0" &&
     echo "$r" | grep -q "2001:db8:4000::/48 via 2001:db8:ffff::1 dev host0"' "$r"
out=$(universe_wan_route_back "$U" 10.0.0.0/8 2>&1)
rc=$?
check "universe_wan_route_back refuses other prefixes" \
    '[ $rc -ne 0 ] && echo "$out" | grep -q 10.0.0.0/8' "rc=$rc: $out"

# --- error paths
out=$(universe_up bad-name 2>&1)
rc=$?
check "universe_up: name without irt- is refused" \
    '[ $rc -ne 0 ] && echo "$out" | grep -q "bad-name"' "rc=$rc: $out"
out=$(universe_up 'irt-a/../b' 2>&1)
rc=$?
check "universe_up: name with a slash is refused" '[ $rc -ne 0 ]' "rc=$rc: $out"
out=$(universe_up "$U" 2>&1)
rc=$?
check "universe_up: refuses a universe that exists" \
    '[ $rc -ne 0 ] && echo "$out" | grep -q "already exists" &&
     [ "$(h curl -s -m 3 http://192.0.2.10/)" = "wan 192.0.2.10 host=192.0.2.10 path=/" ]' \
    "rc=$rc: $out"
ip netns add "$U2-wan"
out=$(universe_up "$U2" 2>&1)
rc=$?
check "universe_up: refuses if NAME-wan exists, and leaves it alone" \
    '[ $rc -ne 0 ] && nslist | grep -q "^$U2-wan\b" &&
     ! nslist | grep -q "^$U2-host\b"' "rc=$rc: $out"
ip netns del "$U2-wan"
echo 'no-such-dnsmasq-option=1' >"$T/bad.conf"
out=$(UNIVERSE_DNS_EXTRA="$T/bad.conf" universe_up "$U2" 2>&1)
rc=$?
check "universe_up: a server that fails to start fails the whole" \
    '[ $rc -ne 0 ] && echo "$out" | grep -q "dnsmasq"' "rc=$rc: $out"
left=$(nslist | grep "^$U2-"; ls -d "$(universe_dir "$U2")" 2>/dev/null;
    ps -eo args | grep -F "$U2-universe" | grep -v grep)
same "... and removes everything it made" "$left" ""
out=$(UNIVERSE_DNS_EXTRA="$T/missing" universe_up "$U2" 2>&1)
rc=$?
check "universe_up: unreadable UNIVERSE_DNS_EXTRA is an error naming it" \
    '[ $rc -ne 0 ] && echo "$out" | grep -q "$T/missing"' "rc=$rc: $out"

# --- down
pids=$(awk '{ print $1 }' "$UNIVERSE_DIR/pids" | tr '\n' ' ')
same "four server processes were recorded" "$(echo $pids | wc -w)" 4
d=$UNIVERSE_DIR
universe_down "$U"
rc=$?
same "universe_down" "$rc" 0
same "no namespace left" "$(nslist | grep "^$U-")" ""
same "no server process left" "$(ps -eo pid,args | grep -F "$U-universe" | grep -v grep)" ""
alive=''
for p in $pids; do [ -d "/proc/$p" ] && alive="$alive $p"; done
same "recorded pids are gone" "$alive" ""
check "temp dir removed" '[ ! -e "$d" ]' "$d exists"
universe_down "$U"
same "universe_down twice is fine" "$?" 0

# --- a test killed midway (during and after universe_up) cleans up
for when in 0.15 after; do
	cat >"$T/child.sh" <<EOF
cd "$PWD"
. tests/net/lib/universe.sub
sp=''
trap 'universe_down $U3; [ -z "\$sp" ] || kill "\$sp"' EXIT
trap 'exit 1' INT TERM HUP
universe_up $U3 || exit 1
sleep 30 &
sp=\$!
touch "$T/up"
wait \$sp
EOF
	rm -f "$T/up"
	sh "$T/child.sh" 2>/dev/null &
	cp=$!
	if [ "$when" = after ]; then
		i=0
		while [ ! -e "$T/up" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	else
		sleep "$when"
	fi
	kill -TERM "$cp"
	wait "$cp"
	left=$(nslist | grep "^$U3-"; ls -d "$(universe_dir "$U3")" 2>/dev/null;
	    ps -eo args | grep -e "$U3-universe" | grep -v grep)
	same "killed ($when) test leaves nothing behind" "$left" ""
done
