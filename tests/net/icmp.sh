#!/bin/sh
# icmp.sh - the ICMP relay (src/proxy/icmp.c) through `isorun run`, in the
# closed universe: echo requests (ping without privileges, tests/net/lib/
# icmp_echo.py) are relayed only under an unrestricted policy and never to the
# guard list; blocked ones get "administratively prohibited" at once and an
# audit event. Judged by the wan namespace's per-address ICMP counters.
set -u
set -f	# rules such as '*' go through $pol unquoted
cd "$(dirname "$0")/../.."
B=${ISORUN_BUILD:-build/san}
I=$B/isorun
if [ "$(id -u)" != 0 ]; then
	echo "ok - icmp # skip: needs root"
	exit 0
fi
[ -x "$I" ] && [ -x "$B/isorun-init" ] ||
	{ echo "not ok - icmp: $I or $B/isorun-init is not built"; exit 1; }
. tests/net/lib/universe.sub
U=irt-$$
T=$(mktemp -d)
trap 'universe_down "$U"; rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP PIPE

ok() { echo "ok - icmp: $1"; }
nok() { echo "not ok - icmp: $1: $2"; }
check() { if eval "$2"; then ok "$1"; else nok "$1" "$3"; fi; }

universe_up "$U" || { echo "not ok - icmp: universe_up failed"; exit 1; }

# ping POLICY-ARGS... -- PING-ARGS...: one sandbox, one icmp_echo.py run in it
# (the script travels as an argument: the sandbox sees no repo).
PING=$(cat tests/net/lib/icmp_echo.py)
ping_in() {
	pol=''
	while [ "$1" != -- ]; do pol="$pol $1"; shift; done
	shift
	# shellcheck disable=SC2086
	nsenter --net=/run/netns/"$U-host" "$I" run --dns-server 192.0.2.53 \
	    $pol -- python3 -c "$PING" "$@" 2>"$T/err"
}
# n PROTO ADDR: echo requests that reached wan for ADDR
n() { universe_wan_count "$U" "$1" "$2"; }

# 1. unrestricted: relayed both ways, IPv4 and IPv6, large ones too
b4=$(n icmp 192.0.2.10) b6=$(n icmpv6 2001:db8:1::10)
out=$(ping_in --profile unrestricted -- -n 3 192.0.2.10)
check "unrestricted, IPv4: three echoes answered from the address pinged" \
    '[ "$(echo "$out" | grep -c "^reply 192.0.2.10 32$")" = 3 ]' "$out $(cat "$T/err")"
check "... and three echo requests reached wan" '[ $(($(n icmp 192.0.2.10) - b4)) = 3 ]' \
    "wan saw $(($(n icmp 192.0.2.10) - b4))"
out=$(ping_in --profile unrestricted -- -n 2 2001:db8:1::10)
check "unrestricted, IPv6: answered" \
    '[ "$(echo "$out" | grep -c "^reply 2001:db8:1::10 32$")" = 2 ]' "$out $(cat "$T/err")"
check "... and reached wan" '[ $(($(n icmpv6 2001:db8:1::10) - b6)) = 2 ]' \
    "wan saw $(($(n icmpv6 2001:db8:1::10) - b6))"
out=$(ping_in --profile unrestricted -- -s 4000 203.0.113.10)
check "unrestricted: a 4000-byte echo (fragmented both ways) comes back whole" \
    '[ "$out" = "reply 203.0.113.10 4000" ]' "$out $(cat "$T/err")"
out=$(ping_in --profile unrestricted -- -s 3000 2001:db8:1::11)
check "unrestricted, IPv6: a 3000-byte echo comes back whole" \
    '[ "$out" = "reply 2001:db8:1::11 3000" ]' "$out $(cat "$T/err")"
out=$(ping_in --allow '*' -- 192.0.2.11)
check "allow '*' is not unrestricted: prohibited" '[ "$out" = prohibited ]' "$out"

# 2. the guard list, whatever the policy
g=$(n icmp 198.51.100.2)
# (127.0.0.1 is the sandbox's own loopback: it answers itself)
for a in 169.254.169.254 100.64.0.1 198.51.100.1; do
	out=$(ping_in --profile unrestricted -- "$a")
	check "unrestricted: $a (guard list) is prohibited at once, and audited" \
	    '[ "$out" = prohibited ] && grep -q "isorun: blocked icmp $a:0: .*guard list" "$T/err"' \
	    "$out $(cat "$T/err")"
done
out=$(ping_in --profile unrestricted -- fe80::1)
check "unrestricted: fe80::1 is not reached (link-local)" \
    'case "$out" in reply*) false;; *) true;; esac' "$out"
check "... and nothing of these reached wan's link address" '[ "$(n icmp 198.51.100.2)" = "$g" ]' \
    "wan saw $(($(n icmp 198.51.100.2) - g))"

# 3. any other policy: prohibited, audited, nothing leaves
b4=$(n icmp 192.0.2.10) b6=$(n icmpv6 2001:db8:1::10)
start=$(date +%s%N)
out=$(ping_in --deny 10.0.0.0/8 -- -n 2 192.0.2.10)
t=$((($(date +%s%N) - start) / 1000000))
check "deny-list policy: prohibited, both echoes, at once (${t} ms for the run)" \
    '[ "$(echo "$out" | grep -c "^prohibited$")" = 2 ]' "$out"
check "... one audit event for the session, saying why" \
    '[ "$(grep -c "isorun: blocked icmp 192.0.2.10:0: ICMP is permitted only when the policy is unrestricted (this one is deny-list)" "$T/err")" = 1 ]' \
    "$(cat "$T/err")"
out=$(ping_in --deny 0.0.0.0/0 --allow api.example.com -- 2001:db8:1::10)
check "allow-list policy, IPv6: prohibited" '[ "$out" = prohibited ]' "$out"
out=$(ping_in --profile locked-down -- 192.0.2.10)
check "locked-down: prohibited" '[ "$out" = prohibited ]' "$out"
check "nothing of these reached wan" \
    '[ "$(n icmp 192.0.2.10)" = "$b4" ] && [ "$(n icmpv6 2001:db8:1::10)" = "$b6" ]' \
    "wan saw $(($(n icmp 192.0.2.10) - b4)) / $(($(n icmpv6 2001:db8:1::10) - b6))"

exit 0
