#!/bin/sh
# gateway_tproxy.sh - the gateway's data path, for real (src/gateway).
#
# gwtool serve plays the runner: it stays in this shell's network namespace,
# creates the gateway and two sandboxes, and opens its TPROXY listeners in
# the gateway. Clients run inside the sandboxes with `ip netns exec`.
# A "wan" namespace with servers on the documentation addresses the
# clients dial is not connected to anything: it must see nothing.
#
# Everything lives in namespaces named irt-<pid>-*, uses documentation and
# shared (100.64/10) addresses only, and is removed on exit.
set -u
cd "$(dirname "$0")/../.."
B=${ISORUN_BUILD:-build/san}
G=$B/tests/gwtool
N=irt-$$
GW=$N-gw
S0=$N-sb0
S1=$N-sb1
WAN=$N-wan
SP='' LP0='' LPW='' HOLD=''

if [ "$(id -u)" != 0 ]; then
	echo "ok - gateway_tproxy # skip: needs root"
	exit 0
fi
if [ ! -x "$G" ]; then
	echo "not ok - gateway_tproxy: $G is not built (make)"
	exit 1
fi
T=$(mktemp -d)

cleanup() {
	exec 3>&- 2>/dev/null
	for p in $SP $LP0 $LPW $HOLD; do
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	"$G" purge "$N" >/dev/null 2>&1
	ip netns del "$WAN" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE

ok() { echo "ok - $1"; }
nok() { echo "not ok - $1: $2"; }

# check NAME SH-CONDITION WHY
check() {
	if eval "$2"; then ok "$1"; else nok "$1" "$3"; fi
}

# expect NAME PATTERN NS CLIENT-ARGS...: the client's output matches PATTERN
expect() {
	name=$1 pat=$2 ns=$3
	shift 3
	full=$(ip netns exec "$ns" "$G" "$@" 2>&1)
	rc=$?
	out=$(echo "$full" | head -n 1)
	if [ $rc -ne 0 ] || echo "$full" | grep -q Sanitizer; then
		nok "$name" "'$*' exited $rc: $(echo "$full" | head -n 5 | tr '\n' ' ')"
		return
	fi
	# shellcheck disable=SC2254
	case "$out" in
	$pat) ok "$name" ;;
	*) nok "$name" "'$*' gave '$out', want '$pat'" ;;
	esac
}

# wait_for FILE REGEX: up to 5 s for a line matching REGEX
wait_for() {
	i=0
	while [ $i -lt 50 ]; do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

count() { grep -c -- "$2" "$1" 2>/dev/null; }

# logged NAME REGEX: the runner's listener logged a line matching REGEX
logged() {
	if wait_for "$T/log" "$2"; then ok "$1"; else
		nok "$1" "runner log has no line matching '$2'"; fi
}

# serve N: start the runner with N sandboxes; sets SP, fd 3 is its stdin
serve() {
	rm -f "$T/ctl" "$T/log"
	mkfifo "$T/ctl"
	"$G" serve "$N" "$1" 3 <"$T/ctl" >"$T/log" 2>&1 &
	SP=$!
	exec 3>"$T/ctl"
	wait_for "$T/log" '^ready$' && return 0
	grep -q '^error' "$T/log" && return 1
	return 1
}

# runner CMD REPLY-REGEX: sends CMD, waits up to 5 s for a *new* reply line
# (the log may already hold an older line matching the same pattern)
runner() {
	before=$(count "$T/log" "$2")
	echo "$1" >&3
	i=0
	while [ $i -lt 50 ]; do
		[ "$(count "$T/log" "$2")" -gt "${before:-0}" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# ms_of OUTPUT: the client's elapsed milliseconds, from its "(Nms)"
ms_of() { echo "$1" | sed -n 's/.*(\([0-9]*\)ms)$/\1/p'; }

# --- the disconnected "wan" with servers on the addresses we dial
ip netns add "$WAN" &&
ip -n "$WAN" link set lo up &&
ip -n "$WAN" addr add 198.51.100.7/32 dev lo &&
ip -n "$WAN" addr add 203.0.113.5/32 dev lo &&
ip -n "$WAN" addr add 192.0.2.53/32 dev lo &&
ip -n "$WAN" addr add 2001:db8:1::5/128 dev lo nodad ||
	{ nok "wan namespace" "setup failed"; exit 1; }
ip netns exec "$WAN" "$G" listen 443 22 53 5000 8080 >"$T/wan" 2>&1 &
LPW=$!
wait_for "$T/wan" '^ready$' || nok "wan listener" "$(cat "$T/wan")"

# --- gateway and two sandboxes
if serve 2; then ok "gateway and 2 sandboxes created"; else
	nok "gateway and 2 sandboxes created" "$(tr '\n' ' ' <"$T/log")"
	exit 1
fi

# Every thread but the nft worker (which runs libnftables inside the
# gateway for the gateway's life) stays in the host namespace.
host_ns=$(readlink /proc/self/ns/net)
gw_ns=$(ip netns exec "$GW" readlink /proc/self/ns/net)
bad='' nft=0
for t in /proc/$SP/task/*; do
	if [ "$(cat "$t/comm")" = isorun-nft ]; then
		nft=$((nft + 1))
		[ "$(readlink "$t/ns/net")" = "$gw_ns" ] || bad="$bad nft:$t"
	else
		[ "$(readlink "$t/ns/net")" = "$host_ns" ] || bad="$bad $t"
	fi
done
check "runner threads stay in the host namespace, the nft worker in the gateway" \
    '[ -z "$bad" ] && [ $nft = 1 ]' "nft workers: $nft; in another namespace:$bad"

links=$(ip -n "$GW" -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' |
    sort | tr '\n' ' ')
check "gateway has only lo and sandbox veths" '[ "$links" = "lo sb0 sb1 " ]' \
    "links: $links"
fwd=$(ip netns exec "$GW" cat /proc/sys/net/ipv4/ip_forward \
    /proc/sys/net/ipv6/conf/all/forwarding /proc/sys/net/ipv6/conf/default/forwarding |
    tr '\n' ' ')
check "gateway forwarding is off" '[ "$fwd" = "0 0 0 " ]' "forwarding: $fwd"
r=$(ip -n "$GW" route show default; ip -n "$GW" -6 route show default)
check "gateway main table has no default route" '[ -z "$r" ]' "routes: $r"
r=$(ip -n "$GW" route show table all; ip -n "$GW" -6 route show table all)
other=$(echo "$r" | grep -v -E ' dev (lo|sb[0-9]+)( |$)' | grep -v '^$')
check "every gateway route is local or to a sandbox veth" '[ -z "$other" ]' \
    "routes: $other"
r=$(ip -n "$GW" route show table 100; ip -n "$GW" -6 route show table 100)
check "tproxy table has the local default routes" \
    'echo "$r" | grep -q "^local default dev lo" &&
     [ "$(echo "$r" | grep -c "^local default dev lo")" = 2 ]' "table 100: $r"
r=$(ip -n "$GW" rule show; ip -n "$GW" -6 rule show)
check "fwmark rule for both families" \
    '[ "$(echo "$r" | grep -c "fwmark 0x1 lookup 100")" = 2 ]' "rules: $r"
r=$(ip -n "$S0" route show default; ip -n "$S0" -6 route show default)
check "sandbox routes by default via its gateway end" \
    'echo "$r" | grep -q "default via 100.64.0.1 dev eth0" &&
     echo "$r" | grep -q "default via 2001:db8:4952::1 dev eth0"' "routes: $r"

# --- TCP, UDP and DNS reach the runner with the original destination
expect "tcp 198.51.100.7:443 reaches the runner" 'connected isorun*' \
    "$S0" connect 198.51.100.7 443
logged "tcp 198.51.100.7:443 original destination" \
    '^tcp from=100\.64\.0\.2:[0-9]* to=198\.51\.100\.7:443 sandbox=0$'
expect "tcp 203.0.113.5:22 reaches the runner" 'connected isorun*' \
    "$S0" connect 203.0.113.5 22
logged "tcp 203.0.113.5:22 original destination" \
    '^tcp from=100\.64\.0\.2:[0-9]* to=203\.0\.113\.5:22 sandbox=0$'
expect "tcp [2001:db8:1::5]:443 reaches the runner" 'connected isorun*' \
    "$S0" connect 2001:db8:1::5 443
logged "tcp [2001:db8:1::5]:443 original destination" \
    '^tcp from=\[2001:db8:4952::2\]:[0-9]* to=\[2001:db8:1::5\]:443 sandbox=0$'
expect "dns over udp reaches the dns listener" 'reply isorun*' \
    "$S0" udp 192.0.2.53 53
logged "dns over udp original destination" \
    '^dns-udp from=100\.64\.0\.2:[0-9]* to=192\.0\.2\.53:53 sandbox=0$'
expect "dns over tcp reaches the dns listener" 'connected isorun*' \
    "$S0" connect 192.0.2.53 53
logged "dns over tcp original destination" \
    '^dns-tcp from=100\.64\.0\.2:[0-9]* to=192\.0\.2\.53:53 sandbox=0$'
expect "dns over udp6 reaches the dns listener" 'reply isorun*' \
    "$S0" udp 2001:db8::53 53
logged "dns over udp6 original destination" \
    '^dns-udp from=\[2001:db8:4952::2\]:[0-9]* to=\[2001:db8::53\]:53 sandbox=0$'
expect "udp reaches the relay, reply comes from the original address" \
    'reply isorun*' "$S0" udp 203.0.113.9 5000
logged "udp original destination" \
    '^udp from=100\.64\.0\.2:[0-9]* to=203\.0\.113\.9:5000 sandbox=0$'
expect "second sandbox reaches the runner" 'connected isorun*' \
    "$S1" connect 198.51.100.7 443
logged "second sandbox is told apart by source" \
    '^tcp from=100\.64\.0\.6:[0-9]* to=198\.51\.100\.7:443 sandbox=1$'

# --- ICMP echo is the runner's ICMP relay's (src/proxy/icmp.c, which gwtool
# does not run): delivered to the gateway, whose kernel must not answer it
expect "icmp echo: not answered without the relay" 'timeout*' \
    "$S0" ping -t 500 198.51.100.7
expect "icmpv6 echo: not answered without the relay" 'timeout*' \
    "$S0" ping -t 500 2001:db8:1::5
expect "icmp echo to the gateway itself: not answered" 'timeout*' \
    "$S0" ping -t 500 100.64.0.1
# snmp_get FILE FIELD: a counter of the gateway's /proc/net/snmp(6)
snmp_get() {
	ip netns exec "$GW" awk -v f="$2" '
	    $1 == f { print $2; exit }
	    /^Icmp: / { if (h == "") { h = $0; next }
		n = split(h, k); split($0, v)
		for (i = 2; i <= n; i++) if ("Icmp" k[i] == f) print v[i]
		h = "" }' "$1"
}
check "... the gateway's kernel sent no echo reply (v4, v6) and saw the echoes" \
    '[ "$(snmp_get /proc/net/snmp IcmpOutEchoReps)" = 0 ] &&
     [ "$(snmp_get /proc/net/snmp6 Icmp6OutEchoReplies)" = 0 ] &&
     [ "$(snmp_get /proc/net/snmp IcmpInEchos)" -ge 2 ]' \
    "out $(snmp_get /proc/net/snmp IcmpOutEchoReps) / $(snmp_get /proc/net/snmp6 Icmp6OutEchoReplies), in $(snmp_get /proc/net/snmp IcmpInEchos)"
expect "other ICMP is rejected at once (admin prohibited)" 'unreachable 3 13 *' \
    "$S0" ping -T 13 198.51.100.7

# --- spoofed sources are dropped
ip -n "$S0" addr add 100.64.0.6/32 dev eth0
ip -n "$S0" addr add 192.0.2.99/32 dev eth0
ip -n "$S0" -6 addr add 2001:db8:4952:1::2/128 dev eth0 nodad
before=$(count "$T/log" 'from=100\.64\.0\.6:')
expect "source of another sandbox is dropped" 'timeout*' \
    "$S0" connect -t 1000 -b 100.64.0.6 198.51.100.7 443
expect "source of another sandbox is dropped (udp)" 'timeout*' \
    "$S0" udp -t 1000 -b 100.64.0.6 203.0.113.9 5000
expect "source outside the pool is dropped" 'timeout*' \
    "$S0" connect -t 1000 -b 192.0.2.99 198.51.100.7 443
expect "IPv6 source of another sandbox is dropped" 'timeout*' \
    "$S0" connect -t 1000 -b 2001:db8:4952:1::2 2001:db8:1::5 443
after=$(count "$T/log" 'from=100\.64\.0\.6:')
check "runner saw no spoofed connection" \
    '[ "$before" = "$after" ] && ! grep -q "from=192\.0\.2\.99\|from=\[2001:db8:4952:1::2\].*sandbox=0" "$T/log"' \
    "log: $(tail -n 3 "$T/log" | tr '\n' ' ')"
drops=$(ip netns exec "$GW" nft list chain inet isorun prerouting |
    sed -n 's/.*counter packets \([0-9]*\) .*spoofed.*/\1/p')
check "spoof drops are counted by the ruleset" '[ "${drops:-0}" -ge 4 ]' \
    "counter: ${drops:-none}"
ip -n "$S0" addr del 100.64.0.6/32 dev eth0
ip -n "$S0" addr del 192.0.2.99/32 dev eth0
ip -n "$S0" -6 addr del 2001:db8:4952:1::2/128 dev eth0

# --- sandboxes never reach each other
ip netns exec "$S0" "$G" listen 8080 >"$T/sb0" 2>&1 &
LP0=$!
wait_for "$T/sb0" '^ready$' || nok "sandbox 0 listener" "$(cat "$T/sb0")"
expect "sandbox 1 to sandbox 0 goes to the runner, not sandbox 0" \
    'connected isorun*' "$S1" connect 100.64.0.2 8080
logged "runner sees sandbox 1's attempt at sandbox 0" \
    '^tcp from=100\.64\.0\.6:[0-9]* to=100\.64\.0\.2:8080 sandbox=1$'
expect "sandbox 1 to sandbox 0 over udp goes to the relay" 'reply isorun*' \
    "$S1" udp 100.64.0.2 8080
expect "sandbox 1 to sandbox 0 over IPv6 goes to the runner" \
    'connected isorun*' "$S1" connect 2001:db8:4952::2 8080
expect "sandbox 1 cannot ping sandbox 0 (not answered, not forwarded)" 'timeout*' \
    "$S1" ping -t 500 100.64.0.2

# --- fail closed: no listener, no way out, and fast
runner "close dns-tcp" '^closed dns-tcp$'
expect "dns over tcp without dns listener is refused, not proxied" \
    'refused*' "$S0" connect 192.0.2.53 53
runner "close" '^closed$'
out=$(ip netns exec "$S0" "$G" connect -t 5000 198.51.100.7 443)
check "tcp with no listener is refused at once" \
    'case "$out" in refused*) [ "$(ms_of "$out")" -lt 1000 ];; *) false;; esac' \
    "got '$out'"
expect "tcp6 with no listener is refused" 'refused*' \
    "$S0" connect 2001:db8:1::5 443
expect "udp with no relay is rejected" 'unreachable*' \
    "$S0" udp 203.0.113.9 5000
expect "udp6 with no relay is rejected" 'denied*' \
    "$S0" udp 2001:db8::9 5000
expect "dns over udp with no listener is rejected" 'unreachable*' \
    "$S0" udp 192.0.2.53 53
expect "sandbox 1 to sandbox 0 with no listener is refused" 'refused*' \
    "$S1" connect 100.64.0.2 8080
runner "open" '^opened$'
expect "listeners reopened: tcp works again" 'connected isorun*' \
    "$S0" connect 198.51.100.7 443

check "sandbox 0's own server saw nothing from sandbox 1" \
    '! grep -q "^accepted\|^got" "$T/sb0"' "$(cat "$T/sb0")"
kill "$LP0" 2>/dev/null
wait "$LP0" 2>/dev/null
LP0=''

# --- remove one sandbox, then destroy all. A process still inside sandbox
# 1 keeps its namespace, and so its veth, alive after the remove.
ip netns exec "$S1" sleep 60 &
HOLD=$!
sleep 0.2
runner "remove 1" '^removed 1$' || nok "remove sandbox 1" "$(tail -n 2 "$T/log")"
links() {
	ip -n "$GW" -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' |
	    sort | tr '\n' ' '
}
set4=$(ip netns exec "$GW" nft list set inet isorun sb4 | tr -d '\n\t')
check "removed sandbox leaves no namespace name or set element" \
    '[ ! -e /run/netns/$S1 ] && ! echo "$set4" | grep -q sb1' "set: $set4"
check "... its veth stays while a process holds the namespace" \
    '[ "$(links)" = "lo sb0 sb1 " ]' "links: $(links)"
out=$(nsenter --net=/proc/$HOLD/ns/net "$G" connect -t 500 203.0.113.5 22 2>&1)
check "... and carries nothing: the gateway drops it" \
    'case "$out" in timeout*) true;; *) false;; esac' "$out"
runner "add" '^sandbox 2 ' || nok "slots go round robin: the next is 2" \
    "$(tail -n 2 "$T/log")"
runner "add" '^sandbox 1 ' ||
    nok "the search wraps to free slot 1" "$(tail -n 2 "$T/log")"
expect "re-added sandbox 1 works (its leftover veth was replaced)" \
    'connected isorun*' "$S1" connect 203.0.113.5 22
check "... and the old namespace lost its interface" \
    '[ "$(nsenter --net=/proc/$HOLD/ns/net ip -o link | wc -l)" = 1 ]' \
    "$(nsenter --net=/proc/$HOLD/ns/net ip -o link)"
kill $HOLD 2>/dev/null
wait $HOLD 2>/dev/null
HOLD=''
runner "remove 2" '^removed 2$' || nok "remove sandbox 2" "$(tail -n 2 "$T/log")"
i=0
while [ "$(links)" != "lo sb0 sb1 " ] && [ $i -lt 40 ]; do
	sleep 0.05
	i=$((i + 1))
done
check "a removed sandbox's veth goes with its namespace" \
    '[ "$(links)" = "lo sb0 sb1 " ]' "links: $(links)"

runner "quit" '^destroyed$'
wait "$SP"
rc=$?
SP=''
exec 3>&-
check "runner exits cleanly after destroy" \
    '[ $rc -eq 0 ] && ! grep -q "Sanitizer\|^error" "$T/log"' \
    "exit $rc: $(grep -A3 "Sanitizer\|^error" "$T/log" | head -n 5 | tr '\n' ' ')"
left=$(ls /run/netns 2>/dev/null | grep "^$N-" | grep -v -- "-wan$")
check "destroy leaves no namespace behind" '[ -z "$left" ]' "left: $left"
check "destroy leaves no veth in the host namespace" \
    '! ip -o link show | grep -q -E ": sb[0-9]+[@:]"' "$(ip -o link show | grep sb)"

# --- the runner dies: sandboxes lose the network
if serve 1; then ok "second runner up"; else
	nok "second runner up" "$(tr '\n' ' ' <"$T/log")"
	exit 1
fi
expect "second runner: tcp reaches it" 'connected isorun*' \
    "$S0" connect 198.51.100.7 443
kill -9 "$SP"
wait "$SP" 2>/dev/null
SP=''
exec 3>&-
out=$(ip netns exec "$S0" "$G" connect -t 5000 198.51.100.7 443)
check "runner killed: tcp is refused at once" \
    'case "$out" in refused*) [ "$(ms_of "$out")" -lt 1000 ];; *) false;; esac' \
    "got '$out'"
expect "runner killed: tcp6 is refused" 'refused*' \
    "$S0" connect 2001:db8:1::5 443
expect "runner killed: udp is rejected" 'unreachable*' \
    "$S0" udp 203.0.113.9 5000
expect "runner killed: dns is rejected" 'unreachable*' \
    "$S0" udp 192.0.2.53 53
expect "runner killed: ping is not answered (nothing leaves)" 'timeout*' \
    "$S0" ping -t 500 198.51.100.7
"$G" purge "$N"
left=$(ls /run/netns 2>/dev/null | grep "^$N-" | grep -v -- "-wan$")
check "purge removes a dead runner's namespaces" '[ -z "$left" ]' "left: $left"

check "nothing reached the wan namespace" '! grep -q "^accepted\|^got" "$T/wan"' \
    "$(cat "$T/wan")"
