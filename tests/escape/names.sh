#!/bin/sh
# names.sh - escape attempts against the connection's name (SPEC 2): direct
# addresses, SNI and Host spoofing, domain fronting, ClientHellos cut up,
# oversized, ambiguous or malformed, HTTP heads that say two things. From
# inside a sandbox allowed api.example.com only (with the seeds' IPv4
# catch-all deny); judged by the wan servers' log and nftables counters.
FILE=names
. "$(dirname "$0")/lib.sub"

SB=n1
sb_create $SB --allow api.example.com --deny 0.0.0.0/0 || exit 1

# blk CASE ATTACK-ARGS: the sandbox resolves api.example.com (so that its
# name maps to 192.0.2.10 in the runner: a verdict must not rest on the name
# being unknown), then makes the attempt; no TCP packet reached wan, no
# server logged anything.
blk() {
	fresh
	x $SB "python3 /tmp/a.py resolve api.example.com >/dev/null; python3 /tmp/a.py $2"
	_t=$(wan_n tcp)
	if [ "$_t" = 0 ] && [ ! -s "$WLOG" ] && [ ! -s "$HLOG" ]; then
		ok "$1"
	else
		nok "$1" "tcp packets reached wan: $_t; wan log: $(head -c 300 "$WLOG"); host log: $(head -c 200 "$HLOG"); $(why)"
	fi
}

# got CASE ATTACK-ARGS ERE [NOT-ADDR]: the attempt reached a server whose log
# line matches ERE, and no TCP packet went to NOT-ADDR.
got() {
	fresh
	x $SB "python3 /tmp/a.py resolve api.example.com >/dev/null; python3 /tmp/a.py $2"
	if seen "$3" && { [ -z "${4:-}" ] || [ "$(wan_n tcp "$4")" = 0 ]; }; then
		ok "$1"
	else
		nok "$1" "want a wan log line /$3/${4:+ and nothing to $4}; wan log: $(head -c 400 "$WLOG"); tcp to ${4:-?}: ${4:+$(wan_n tcp "$4")}; $(why)"
	fi
}

AE='"sni":"api.example.com"'

# --- controls: the allowed name works, over both families, so that a
# sandbox that could reach nothing fails this file
fresh
x $SB 'curl -sS -4 -m 5 http://api.example.com/c00a; curl -sS -6 -k -m 5 https://api.example.com/c00b'
chk "control: the allowed name works over IPv4 and IPv6 (server logs both)" \
    'seen "\"dst\":\"192.0.2.10\",\"dport\":80,.*\"path\":\"/c00a\"" &&
     seen "\"dst\":\"2001:db8:1::10\",\"dport\":443,.*\"path\":\"/c00b\""' \
    'wan log: $(head -c 400 "$WLOG"); $(why)'

# --- direct addresses
blk "direct IPv4 to a blocked address (TCP 80, 443, 22)" \
    'tcp 192.0.2.12:80 --data "GET / HTTP/1.1\r\nHost: blocked.test\r\n\r\n"; python3 /tmp/a.py tcp 192.0.2.12:443; python3 /tmp/a.py tcp 192.0.2.12:22'
blk "direct IPv6 to a blocked address, only an IPv4 catch-all given (TCP 80, 443)" \
    'tcp [2001:db8:1::12]:80 --data "GET / HTTP/1.1\r\nHost: blocked.test\r\n\r\n"; python3 /tmp/a.py tcp [2001:db8:1::12]:443'
blk "direct IP of another wan server on a server-first port (no name at all)" \
    'tcp 203.0.113.10:22 --wait 2.5'

# --- spoofing: an allowed name sent to an address the guest chose
got "SNI spoofing: SNI api.example.com sent to 192.0.2.12 is served by 192.0.2.10 only" \
    'hello 192.0.2.12:443 --sni api.example.com --path /c04' \
    "\"dst\":\"192.0.2.10\",\"dport\":443,.*$AE.*\"path\":\"/c04\"" 192.0.2.12
got "SNI spoofing over IPv6: sent to 2001:db8:1::12, served by 2001:db8:1::10 only" \
    'hello [2001:db8:1::12]:443 --sni api.example.com --path /c05' \
    "\"dst\":\"2001:db8:1::10\",\"dport\":443,.*$AE.*\"path\":\"/c05\"" 2001:db8:1::12
got "Host spoofing: Host api.example.com sent to 192.0.2.12:80 is served by 192.0.2.10 only" \
    'http 192.0.2.12:80 --head "GET /c06 HTTP/1.1\r\nHost: api.example.com\r\n\r\n"' \
    '"dst":"192.0.2.10","dport":80,.*"host":"api.example.com","path":"/c06"' 192.0.2.12
blk "Host spoofing to the runner host's service (198.51.100.1:8022)" \
    'http 198.51.100.1:8022 --head "GET /c07 HTTP/1.1\r\nHost: api.example.com\r\n\r\n"; python3 /tmp/a.py hello 198.51.100.1:8022 --sni api.example.com'
blk "SNI of a name not allowed, on the allowed name's own address (evil.example.com -> 192.0.2.10)" \
    'hello 192.0.2.10:443 --sni evil.example.com --path /c08'
blk "SNI of a blocked name to its own address (blocked.test -> 192.0.2.12)" \
    'hello 192.0.2.12:443 --sni blocked.test --path /c08b'
blk "names that only look like the allowed one (xapi.example.com, api.example.com.blocked.test, api.example.com..)" \
    'hello 192.0.2.12:443 --sni xapi.example.com; python3 /tmp/a.py hello 192.0.2.12:443 --sni api.example.com.blocked.test; python3 /tmp/a.py http 192.0.2.12:80 --head "GET / HTTP/1.1\r\nHost: api.example.com..\r\n\r\n"'
blk "an SNI of 300 bytes ending in the allowed name" \
    "hello 192.0.2.10:443 --sni $(printf 'a%.0s' $(seq 1 40)).$(printf 'b%.0s' $(seq 1 60)).$(printf 'c%.0s' $(seq 1 60)).$(printf 'd%.0s' $(seq 1 60)).$(printf 'e%.0s' $(seq 1 60)).api.example.com"
blk "IP-literal Host naming the allowed address, sent to a blocked one" \
    'http 192.0.2.12:80 --head "GET /c09 HTTP/1.1\r\nHost: 192.0.2.10\r\n\r\n"'
got "SNI in upper case with a trailing dot: still the allowed name, served at its address" \
    'hello 192.0.2.12:443 --sni API.EXAMPLE.COM. --path /c10' \
    '"dst":"192.0.2.10","dport":443,"src":"[^"]*","sport":[0-9]*,"sni":"API.EXAMPLE.COM.".*"path":"/c10"' 192.0.2.12

# --- domain fronting: visible only as far as the SNI (docs/escape.md)
got "domain fronting (SNI api.example.com, inner Host blocked.test, to 192.0.2.12): reaches 192.0.2.10 only" \
    'hello 192.0.2.12:443 --sni api.example.com --host blocked.test --path /c11' \
    "\"dst\":\"192.0.2.10\",\"dport\":443,.*$AE,\"host\":\"blocked.test\",\"path\":\"/c11\"" 192.0.2.12
got "second request with another Host on a kept-alive connection: stays at 192.0.2.10" \
    'http 192.0.2.10:80 --head "GET /c12a HTTP/1.1\r\nHost: api.example.com\r\n\r\n" --again "GET /c12b HTTP/1.1\r\nHost: blocked.test\r\n\r\n"' \
    '"dst":"192.0.2.10","dport":80,.*"paths":\["/c12a","/c12b"\]' 192.0.2.12

# --- the ClientHello cut up: the positive half proves the parser reads it
got "ClientHello in 1-byte TCP segments, allowed name: handshake and request complete" \
    'hello 192.0.2.10:443 --sni api.example.com --seg 1 --path /c13' \
    "\"dst\":\"192.0.2.10\",\"dport\":443,.*$AE.*\"path\":\"/c13\",.*\"status\":200"
blk "ClientHello in 1-byte TCP segments, SNI blocked.test to the allowed address" \
    'hello 192.0.2.10:443 --sni blocked.test --seg 1'
got "ClientHello over 1-byte TLS records, allowed name: handshake and request complete" \
    'hello 192.0.2.10:443 --sni api.example.com --records 1 --path /c15' \
    "\"dst\":\"192.0.2.10\",\"dport\":443,.*$AE.*\"path\":\"/c15\",.*\"status\":200"
blk "ClientHello over 7-byte TLS records in 3-byte segments, SNI evil.example.com" \
    'hello 192.0.2.10:443 --sni evil.example.com --records 7 --seg 3'

# --- size
got "a 60 KiB ClientHello (4 records), allowed name: reaches the server" \
    'hello 192.0.2.10:443 --sni api.example.com --pad 60000' \
    "\"dst\":\"192.0.2.10\",\"dport\":443,.*$AE"
blk "oversized ClientHello (70 KiB) with the allowed name" \
    'hello 192.0.2.10:443 --sni api.example.com --pad 70000'
blk "ClientHello declaring 16 MiB" \
    'hello 192.0.2.10:443 --sni api.example.com --declare 16777215'
blk "SSLv2-compatible hello (no SNI possible) to the allowed address" \
    'hello 192.0.2.10:443 --sslv2'

# --- ambiguous names
for m in two-names two-names-rev dup-ext nul nul-front empty-name utf8 not-a-hello; do
	case $m in
	two-names) d="two names in server_name (allowed first)" ;;
	two-names-rev) d="two names in server_name (allowed second)" ;;
	dup-ext) d="two server_name extensions" ;;
	nul) d="NUL in SNI (api.example.com<NUL>.blocked.test)" ;;
	nul-front) d="NUL in SNI (blocked.test<NUL>api.example.com)" ;;
	empty-name) d="empty SNI name" ;;
	utf8) d="non-ASCII SNI (UTF-8 bytes)" ;;
	not-a-hello) d="a ServerHello in place of the ClientHello" ;;
	esac
	blk "$d, to the allowed address" "hello 192.0.2.10:443 --sni api.example.com --mutate $m"
done
blk "IP literal as SNI (192.0.2.12) to 192.0.2.12" \
    'hello 192.0.2.12:443 --sni api.example.com --mutate ip-literal --sni2 192.0.2.12'

# --- malformed lengths: each lie where a lenient parser would find "no
# name" and fall back to the address's name (api.example.com)
for m in ext-len-long ext-len-short list-len-short list-len-long \
    name-len-long name-len-short exts-len-short hs-len-short; do
	blk "malformed length ($m), to the allowed address" \
	    "hello 192.0.2.10:443 --sni api.example.com --mutate $m"
done

# --- no SNI: the name falls back to the sandbox's own lookups (by design)
got "no SNI to the allowed address: named by the sandbox's lookup, reaches it" \
    'hello 192.0.2.10:443 --sni api.example.com --mutate no-sni' \
    '"dst":"192.0.2.10","dport":443,.*"sni":null'
blk "no SNI to a blocked address" \
    'hello 192.0.2.12:443 --sni api.example.com --mutate no-sni'

# --- HTTP heads that say two things
blk "HTTP: two Host headers (allowed, blocked)" \
    'http 192.0.2.10:80 --head "GET /h1 HTTP/1.1\r\nHost: api.example.com\r\nHost: blocked.test\r\n\r\n"'
blk "HTTP: absolute-form target naming another host than Host" \
    'http 192.0.2.10:80 --head "GET http://blocked.test/h2 HTTP/1.1\r\nHost: api.example.com\r\n\r\n"'
blk "HTTP: NUL in Host" \
    'http 192.0.2.10:80 --head "GET /h3 HTTP/1.1\r\nHost: api.example.com\x00.blocked.test\r\n\r\n"'
blk "HTTP: obsolete line folding after Host" \
    'http 192.0.2.10:80 --head "GET /h4 HTTP/1.1\r\nHost: api.example.com\r\n blocked.test\r\n\r\n"'
blk "HTTP: bare LF line ends, Host blocked.test" \
    'http 192.0.2.10:80 --head "GET /h5 HTTP/1.1\nHost: blocked.test\n\n"'
blk "HTTP: userinfo in Host (api.example.com@blocked.test)" \
    'http 192.0.2.10:80 --head "GET /h6 HTTP/1.1\r\nHost: api.example.com@blocked.test\r\n\r\n"'
blk "HTTP/1.0 without Host to a blocked address" \
    'http 192.0.2.12:80 --head "GET /h7 HTTP/1.0\r\n\r\n"'
blk "HTTP CONNECT to a blocked host through the allowed address" \
    'http 192.0.2.10:80 --head "CONNECT blocked.test:443 HTTP/1.1\r\nHost: blocked.test:443\r\n\r\n"'

# --- a wildcard never matches its apex (SPEC 2)
sb_create w1 --allow '*.example.com' || exit 1
fresh
x w1 'python3 /tmp/a.py resolve example.com; python3 /tmp/a.py resolve www.example.com >/dev/null; python3 /tmp/a.py http 192.0.2.10:80 --head "GET /apex HTTP/1.1\r\nHost: example.com\r\n\r\n"; python3 /tmp/a.py hello 192.0.2.10:443 --sni example.com --path /apex'
chk "wildcard *.example.com: the apex example.com is not resolved, and neither Host nor SNI of it passes" \
    '[ "$(wan_n tcp)" = 0 ] && [ ! -s "$WLOG" ] && echo "$OUT" | grep -q "^addresses: none" && ! grep -q "\] example.com " "$DLOG"' \
    'tcp $(wan_n tcp); wan log $(head -c 300 "$WLOG"); dns $(qseen); $(why)'
x w1 'python3 /tmp/a.py http 192.0.2.12:80 --head "GET /wild HTTP/1.1\r\nHost: www.example.com\r\n\r\n"'
chk "... while a name under it, spoofed to 192.0.2.12, is served by its own address" \
    'seen "\"dst\":\"192.0.2.10\",\"dport\":80,.*\"path\":\"/wild\"" && [ "$(wan_n tcp 192.0.2.12)" = 0 ]' \
    'wan log $(head -c 300 "$WLOG"); $(why)'

x w1 'python3 /tmp/a.py http 192.0.2.12:80 --head "GET /other-cache HTTP/1.1\r\nHost: api.example.com\r\n\r\n"'
chk "a name only another sandbox resolved (api.example.com, resolved by n1) gives this one no address" \
    '[ "$(wlines other-cache)" = 0 ] && [ "$(wan_n tcp 192.0.2.12)" = 0 ]' \
    'wan log $(grep other-cache "$WLOG"); $(why)'

# --- a rule with a port allows that port only, whatever the name says
sb_create p1 --allow api.example.com:443 || exit 1
fresh
x p1 'python3 /tmp/a.py resolve api.example.com >/dev/null; python3 /tmp/a.py http 192.0.2.12:80 --head "GET /port80 HTTP/1.1\r\nHost: api.example.com\r\n\r\n"; python3 /tmp/a.py http 192.0.2.10:80 --head "GET /port80 HTTP/1.1\r\nHost: api.example.com\r\n\r\n"; python3 /tmp/a.py hello 192.0.2.10:8080 --sni api.example.com; python3 /tmp/a.py hello 192.0.2.12:443 --sni api.example.com --path /port443'
chk "allow api.example.com:443: the name on ports 80 and 8080 reaches nothing, on 443 it is served by its address" \
    'seen "\"dst\":\"192.0.2.10\",\"dport\":443,.*\"path\":\"/port443\"" && [ "$(wlines .)" = 1 ] && [ "$(wan_n tcp 192.0.2.12)" = 0 ]' \
    'wan log $(head -c 400 "$WLOG"); $(why)'

# --- an allowed name the sandbox never looked up: no address of the
# guest's choosing, and once looked up it works
sb_create n2 --allow allowed.test || exit 1
fresh
x n2 'python3 /tmp/a.py http 192.0.2.11:80 --head "GET /u1 HTTP/1.1\r\nHost: allowed.test\r\n\r\n"; python3 /tmp/a.py http 192.0.2.12:80 --head "GET /u2 HTTP/1.1\r\nHost: allowed.test\r\n\r\n"'
chk "Host of an allowed name never resolved by the sandbox: blocked (no address to trust)" \
    '[ "$(wan_n tcp)" = 0 ] && [ ! -s "$WLOG" ]' 'tcp $(wan_n tcp); wan log $(head -c 300 "$WLOG"); $(why)'
x n2 'python3 /tmp/a.py resolve allowed.test >/dev/null; python3 /tmp/a.py http 192.0.2.12:80 --head "GET /u3 HTTP/1.1\r\nHost: allowed.test\r\n\r\n"'
chk "... once resolved, the same spoofed request is served by 192.0.2.11 only" \
    'seen "\"dst\":\"192.0.2.11\",\"dport\":80,.*\"path\":\"/u3\"" && [ "$(wan_n tcp 192.0.2.12)" = 0 ]' \
    'wan log $(head -c 300 "$WLOG"); $(why)'

# --- the audit trail says why (SPEC 5), one reason per kind of trick
sleep 1.2
audit_of $SB
n=0
for r in "server_name has more than one entry" "has byte 0x00" \
    "extension 0 twice" "cap is 65536" "is an IP literal" \
    "duplicate Host header" "differs from the request-target"; do
	grep "\"verdict\":\"blocked\"" "$T/audit.$SB" | grep -q "$r" && n=$((n + 1))
done
chk "audit: the blocked tricks are recorded as malformed, saying why" '[ $n = 7 ]' \
    '$n of 7 reasons found in $(grep -c . "$T/audit.$SB") events: $(grep malformed "$T/audit.$SB" | head -3)'
