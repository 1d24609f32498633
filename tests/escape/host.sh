#!/bin/sh
# host.sh - escape attempts against what is next to a sandbox: the runner
# host's own addresses and services, the gateway, other sandboxes; and the
# guest root trying to change its network (routes, addresses, links,
# nftables, sysctls), to open raw sockets, to make a network namespace of
# its own, to send from another sandbox's address. Judged by the host
# service's log, a listener inside the target sandbox, the kernel state seen
# from outside (ip -n / nft in the sandbox's namespace) and wan counters.
FILE=host
. "$(dirname "$0")/lib.sub"

sb_create h1 || exit 1				# unrestricted: the worst case
sb_create h2 || exit 1
sb_create h3 --allow api.example.com --deny 0.0.0.0/0 || exit 1

# addr ID: the sandbox's IPv4 and IPv6 addresses (A4, A6)
addr() {
	x "$1" 'ip -4 -o addr show dev eth0 | sed "s/.*inet \([0-9.]*\).*/\1/"; ip -6 -o addr show dev eth0 scope global | sed "s/.*inet6 \([0-9a-f:]*\).*/\1/"'
	A4=$(echo "$OUT" | sed -n 1p)
	A6=$(echo "$OUT" | sed -n 2p)
}
# the pool is 100.64.0.0/16 in /30s: slot N has 100.64.(N/64).(4(N%64)+2)
slot_ns() {
	_o3=$(echo "$1" | cut -d. -f3)
	_o4=$(echo "$1" | cut -d. -f4)
	echo "$R-sb$((_o3 * 64 + (_o4 - 2) / 4))"
}

# --- the runner host's own service (tcp and udp 8022, every address)
universe_host "$U" python3 -c '
import socket
s = socket.create_connection(("198.51.100.1", 8022), timeout=3)
print(s.recv(64).decode().strip())' >/dev/null 2>&1
chk "control: the host service logs a connection from the host itself" \
    'universe_wait_file "$HLOG" "\"server\":\"hostsvc\"" 3' 'host log: $(cat "$HLOG")'
fresh
x h1 'python3 /tmp/a.py tcp 198.51.100.1:8022 --wait 1; python3 /tmp/a.py tcp [2001:db8:ffff::1]:8022 --wait 1; python3 /tmp/a.py http 198.51.100.1:8022 --head "GET / HTTP/1.1\r\nHost: api.example.com\r\n\r\n"'
chk "host service over TCP (v4 and v6) from an unrestricted sandbox: the service saw nothing" \
    '[ ! -s "$HLOG" ] && ! echo "$OUT" | grep -q HOST-SERVICE' 'host log: $(head -c 300 "$HLOG"); $(why)'
fresh
x h1 'python3 /tmp/a.py udp 198.51.100.1:8022; python3 /tmp/a.py udp [2001:db8:ffff::1]:8022'
chk "host service over UDP (v4 and v6): the service saw nothing" \
    '[ ! -s "$HLOG" ] && [ "$(echo "$OUT" | grep -c "echoes: 0")" = 2 ]' \
    'host log: $(head -c 300 "$HLOG"); $(why)'
# --- the gateway: every address of it is guarded, its ports too
addr h1
H1_4=$A4 H1_6=$A6
GW4=${A4%.*}.$((${A4##*.} - 1))
GW6=${A6%::2}::1
fresh
x h1 "python3 /tmp/a.py tcp $GW4:8022 --wait 1; python3 /tmp/a.py tcp [$GW6]:8022 --wait 1; python3 /tmp/a.py tcp $GW4:15001 --wait 1; python3 /tmp/a.py udp $GW4:15002; python3 /tmp/a.py udp $GW4:8022"
sleep 1.1
audit_of h1
chk "the gateway's own addresses and the proxy's ports: nothing reached host or wan, audited as guard" \
    '[ ! -s "$HLOG" ] && [ "$(wan_n)" = 0 ] && grep "\"dst\":\"$GW4\"" "$T/audit.h1" | grep -q "\"rule\":\"guard\""' \
    'host log: $(head -c 200 "$HLOG"); wan $(wan_n); audit: $(grep "$GW4" "$T/audit.h1" | tail -2)'

# --- sandbox to sandbox
addr h2
H2_4=$A4 H2_6=$A6
x h2 'python3 /tmp/a.py listen 8080 /tmp/l.log; sleep 0.3; cat /tmp/l.log'
x h1 "python3 /tmp/a.py tcp $H2_4:8080 --wait 1; python3 /tmp/a.py tcp [$H2_6]:8080 --wait 1; python3 /tmp/a.py udp $H2_4:8080; python3 /tmp/a.py udp [$H2_6]:8080; python3 /tmp/a.py tcp ${H2_4%.*}.$((${H2_4##*.} - 1)):8080 --wait 1"
x h2 "cat /tmp/l.log; echo ---; python3 /tmp/a.py tcp $H2_4:8080 --wait 0.2; python3 /tmp/a.py udp [$H2_6]:8080 -n 1; sleep 0.2; cat /tmp/l.log"
before=$(echo "$OUT" | sed '/^---$/,$d')
after=$(echo "$OUT" | sed '1,/^---$/d' | grep -c from)
chk "sandbox to sandbox (TCP and UDP, v4 and v6, and via its gateway end): the other's listener got nothing" \
    '[ "$before" = listening ] && [ "$after" = 2 ]' \
    'listener log before its own connections: $before; entries after them: $after (want 2)'

# --- source address spoofing: h1 sends as h2
fresh
x h1 "python3 /tmp/a.py spoof $H2_4 192.0.2.10:80; python3 /tmp/a.py spoof $H2_6 [2001:db8:1::10]:80"
sleep 1.1
audit_of h2
chk "source spoofing (IP_FREEBIND as another sandbox, v4 and v6): dropped, nothing reached wan" \
    '[ "$(wan_n)" = 0 ] && [ ! -s "$WLOG" ] && ! grep -q spoofed "$T/audit.h2" && ! grep -q "\"dport\":80" "$T/audit.h2"' \
    'wan $(wan_n); wan log $(head -c 200 "$WLOG"); audit of h2: $(tail -2 "$T/audit.h2"); $(why)'

# --- the guest root and its network namespace
addr h3
NS=$(slot_ns "$A4")
snap() {
	{
		ip -n "$NS" -d link show
		ip -n "$NS" addr show
		ip -n "$NS" route show table all
		ip -n "$NS" -6 route show table all
		ip -n "$NS" rule show
		ip netns exec "$NS" nft list ruleset
		ip netns exec "$NS" sysctl -n net.ipv4.ip_forward net.ipv4.conf.all.rp_filter
	} 2>&1
}
chk "the sandbox's namespace is the one holding its address (precondition)" \
    'ip -n "$NS" addr show dev eth0 | grep -q "inet $A4/"' 'NS=$NS, A4=$A4: $(ip -n "$NS" -br addr 2>&1)'
before=$(snap)
# (only ours and the guest's try: other tests make namespaces meanwhile)
mine() { ls /run/netns | grep -E "^($R-|irt-escape)" | sort; }
netns_before=$(mine)
fresh
x h3 'ip route add 192.0.2.0/24 dev eth0; ip route replace default dev eth0; ip -6 route add 2001:db8:1::/48 dev eth0; ip addr add 192.0.2.99/32 dev eth0; ip addr add 100.64.0.6/30 dev eth0; ip link set eth0 down; ip link add x0 type dummy; nft add table inet x; nft flush ruleset; echo 1 > /proc/sys/net/ipv4/ip_forward; echo 0 > /proc/sys/net/ipv4/conf/all/rp_filter; python3 /tmp/a.py tcp 192.0.2.12:80 --data "GET / HTTP/1.1\r\nHost: x\r\n\r\n" --wait 1; echo done'
chk "guest root: routes, addresses, links, nftables, sysctls unchanged (seen from outside), nothing reached wan" \
    '[ "$(snap)" = "$before" ] && [ "$(wan_n tcp)" = 0 ] && echo "$OUT" | grep -q done && [ "$(echo "$OUT" | grep -ci "not permitted\|denied\|read-only")" -ge 8 ]' \
    'wan tcp $(wan_n tcp); changed: $(printf "%s\n" "$before" >"$T/s1"; snap >"$T/s2"; diff "$T/s1" "$T/s2" | head -8); $(why)'
fresh
# (ICMP echo sockets may be opened: their echoes go to the runner's ICMP
# relay, which refuses them for this policy; raw sockets may not)
x h3 'python3 /tmp/a.py rawsock 192.0.2.12; python3 /tmp/a.py icmp 192.0.2.12'
chk "raw IP, raw TCP and packet sockets: refused, nothing reached wan" \
    '[ "$(echo "$OUT" | grep -c "PermissionError")" -ge 4 ] && [ "$(wan_n)" = 0 ]' 'wan $(wan_n); $(why)'
fresh
x h3 'unshare -n sh -c "ip link set lo up; python3 /tmp/a.py tcp 192.0.2.12:80 --wait 1"; unshare -Urn sh -c "ip link add v0 type veth peer name v1"; unshare -U sh -c "id"; ip netns add irt-escape; echo done'
chk "new network and user namespaces: refused, none appeared, nothing reached wan" \
    'echo "$OUT" | grep -q done && [ "$(echo "$OUT" | grep -c "unshare failed")" -ge 3 ] && [ "$(mine)" = "$netns_before" ] && [ "$(wan_n)" = 0 ]' \
    'wan $(wan_n); /run/netns: $(mine | tr "\n" " "); $(why)'
fresh
x h3 'python3 /tmp/a.py resolve api.example.com >/dev/null; curl -sS -m 5 http://api.example.com/after-root'
chk "control: after all that, the allowed name still works for h3" \
    'seen "\"path\":\"/after-root\""' 'wan log $(head -c 200 "$WLOG"); $(why)'

# --- the embedded runner of `isorun run` keeps the same promises
fresh
nsenter --net=/run/netns/"$U-host" "$ISORUN" run --dns-server 192.0.2.53 \
    --allow api.example.com --deny 0.0.0.0/0 -- sh -c '
    python3 -c "$1" resolve api.example.com >/dev/null
    python3 -c "$1" hello 192.0.2.12:443 --sni api.example.com --path /run-spoof
    python3 -c "$1" tcp 192.0.2.12:80 --wait 1
    python3 -c "$1" hello 192.0.2.10:443 --sni api.example.com --mutate two-names
    python3 -c "$1" dns 203.0.113.53 x.blocked.test' sh "$(cat tests/escape/attack.py)" >"$T/run.out" 2>&1
chk "isorun run: SNI spoofing served by the resolved address, direct IP and two names blocked, rogue DNS unseen" \
    'seen "\"dst\":\"192.0.2.10\",\"dport\":443,.*\"path\":\"/run-spoof\"" && [ "$(wan_n tcp 192.0.2.12)" = 0 ] &&
     [ "$(wlines .)" = 1 ] && [ ! -s "$RLOG" ] && ! grep -q blocked.test "$DLOG"' \
    'tcp to .12 $(wan_n tcp 192.0.2.12); wan log $(head -c 300 "$WLOG"); rogue $(head -c 100 "$RLOG"); out: $(head -c 300 "$T/run.out")'
