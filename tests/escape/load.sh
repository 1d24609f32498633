#!/bin/sh
# load.sh - attacks on the proxy itself and on time: slowloris and
# connection floods from one sandbox while another keeps fetching (its
# requests must all reach the server), and a policy tightened live (`isorun
# network set`): new connections blocked within 100 ms of the answer, open
# ones it blocks closed, DNS no longer forwarded. Judged by the wan log (one
# line per connection that reached the server), counters and the audit.
FILE=load
. "$(dirname "$0")/lib.sub"

sb_create atk --allow api.example.com || exit 1
sb_create vic --allow api.example.com || exit 1
sb_create lv --allow api.example.com --allow allowed.test || exit 1

# fetches TAG N: vic fetches api.example.com N times (one connection each);
# FOK = how many requests with that tag the server logged, FLAT = the
# client's median/max latency
fetches() {
	x vic "python3 /tmp/a.py fetch api.example.com:80 /$1 $2"
	universe_wait_log "$U" "\"path\":\"/$1-$(($2 - 1))\"" 5
	FOK=$(wlines "\"path\":\"/$1-[0-9]+\"")
	FLAT="median $(echo "$OUT" | sed -n 's/^median-ms: //p') ms, max $(echo "$OUT" | sed -n 's/^max-ms: //p') ms"
}

fresh
fetches base 30
chk "control: 30 fetches of the victim sandbox reach the server ($FLAT)" '[ "$FOK" = 30 ]' \
    'server logged $FOK; $(why)'

# --- slowloris: 1000 heads, one byte a second, for longer than the peek
# may last; meanwhile the victim fetches
fresh
$IR exec atk -c 'python3 /tmp/a.py slowloris 192.0.2.10:80 1000 12.5' >"$T/slow.out" 2>&1 &
SLOW=$!
sleep 3
fetches slow 30
chk "slowloris (1000 connections trickling heads) against the proxy: the victim's 30 fetches all reach the server ($FLAT)" \
    '[ "$FOK" = 30 ] && [ "$(echo "$OUT" | sed -n "s/^max-ms: //p")" -lt 2000 ]' \
    'server logged $FOK of 30; $(why)'
wait $SLOW
sleep 0.5
opened=$(sed -n 's/^opened: //p' "$T/slow.out")
closed=$(sed -n 's/^closed-by-peer: //p' "$T/slow.out")
chk "slowloris: every trickled connection closed by the proxy within its peek limit, none reached the server" \
    '[ "$opened" = 1000 ] && [ "$closed" = 1000 ] && [ "$(wlines slowloris)" = 0 ] &&
     [ "$(wlines .)" = 30 ]' \
    'opened $opened, closed by the proxy $closed; wan log lines: $(wlines .) (want the 30 fetches only); $(head -c 300 "$T/slow.out")'

# --- connection flood to a blocked address, and a UDP flood
fresh
$IR exec atk -c 'python3 /tmp/a.py flood 192.0.2.12:8080 3000; python3 /tmp/a.py flood 192.0.2.12:8080 3000' >"$T/flood.out" 2>&1 &
FL=$!
sleep 0.3
fetches flood 30
wait $FL
chk "connection flood (2 x 3000 to a blocked address): the victim's fetches all reach the server ($FLAT)" \
    '[ "$FOK" = 30 ]' 'server logged $FOK of 30; $(why); flood: $(cat "$T/flood.out")'
chk "connection flood: nothing reached the blocked address" \
    '[ "$(wan_n tcp 192.0.2.12)" = 0 ] && [ "$(wlines 192.0.2.12)" = 0 ]' \
    'tcp to it $(wan_n tcp 192.0.2.12); flood: $(cat "$T/flood.out")'
fresh
x atk 'python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(20000):
    s.sendto(b\"flood-%d\" % i, (\"192.0.2.12\", 9999 + i % 50))
print(\"sent\")"'
fetches udpflood 30
chk "UDP flood (20000 datagrams, 50 flows, to a blocked address): nothing reached wan but the victim's fetches" \
    '[ "$FOK" = 30 ] && [ "$(wan_n udp 192.0.2.12)" = 0 ] && [ "$(wan_n udp)" = "$(wan_n udp 192.0.2.53)" ]' \
    'udp $(wan_n udp), of which to the resolver $(wan_n udp 192.0.2.53); fetched $FOK; $(why)'
sleep 1.2
audit_of atk
n=$(python3 -c '
import json, sys
n = 0
for l in open(sys.argv[1]):
    try:
        e = json.loads(l)
    except ValueError:
        continue
    # refusals by the proxy name the destination; the rate limit of the
    # gateway refuses in the kernel and says how many (no destination)
    if e.get("verdict") == "blocked" and e.get("proto") == "tcp" and \
       ((e.get("dst") == "192.0.2.12" and e.get("dport") == 8080) or
        e.get("rule") == "rate-limit"):
        n += e.get("count", 1)
print(n)' "$T/audit.atk")
chk "audit: the TCP flood is accounted for, one event or a summary count per attempt (6000)" \
    '[ "$n" = 6000 ]' 'sum of counts $n; flood: $(cat "$T/flood.out")'

# --- a policy tightened live
fresh
x lv 'python3 /tmp/a.py resolve allowed.test; python3 /tmp/a.py resolve api.example.com; rm -f /tmp/p.log /tmp/ready /tmp/go; python3 /tmp/a.py probe 192.0.2.11:80 allowed.test 2.5 /tmp/p.log'
$IR exec lv -c 'python3 /tmp/a.py hold 192.0.2.11:80 allowed.test /held /tmp/ready /tmp/go' >"$T/hold.out" 2>&1 &
HOLD=$!
i=0
while [ $i -lt 50 ]; do
	x lv 'test -e /tmp/ready'
	[ "$XRC" = 0 ] && break
	sleep 0.05
	i=$((i + 1))
done
sleep 0.3
t0=$(date +%s%3N)
$IR network set lv --allow api.example.com >"$T/set.out" 2>&1
setrc=$?
t1=$(date +%s%3N)
x lv 'touch /tmp/go'
wait $HOLD
sleep 2.3
x lv 'tail -1 /tmp/p.log'
# the probes' start times, in ms, as the server logged them
probes() { grep -o '"path":"/probe-[0-9]*"' "$WLOG" | grep -o '[0-9]*'; }
late=$(probes | awk -v t=$((t1 + 100)) '$1 > t' | head -3)
early=$(probes | awk -v t=$t0 '$1 < t' | wc -l)
chk "live tightening: new connections blocked within 100 ms of the answer (probes every 10 ms; set took $((t1 - t0)) ms)" \
    '[ $setrc = 0 ] && [ "$OUT" = end ] && [ "$early" -ge 10 ] && [ -z "$late" ]' \
    'set rc $setrc: $(cat "$T/set.out"); probes served before the change: $early; after it + 100 ms: $late'
chk "live tightening: the open keep-alive connection is closed, its next request never reaches the server" \
    'grep -q "\"path\":\"/held-1\"" "$WLOG" && ! grep -q "/held-2" "$WLOG" && grep -q "^second: .*\(reset\|nothing\)" "$T/hold.out"' \
    'hold: $(cat "$T/hold.out"); wan: $(grep held "$WLOG")'
fresh
x lv 'python3 /tmp/a.py resolve allowed.test; python3 /tmp/a.py dns 192.0.2.53 allowed.test; curl -sS -m 3 http://api.example.com/after-set'
chk "live tightening: the name no longer resolves and is not asked upstream; the kept name works" \
    'echo "$OUT" | grep -q "^addresses: none" && [ "$(grep -c "allowed.test" "$DLOG")" = 0 ] && seen "\"path\":\"/after-set\""' \
    'dns log: $(qseen); $(why)'
$IR network set lv --allow api.example.com --allow allowed.test >/dev/null 2>&1
fresh
x lv 'python3 /tmp/a.py resolve allowed.test >/dev/null; curl -sS -m 3 http://allowed.test/loosened'
chk "live loosening: allowed again, the next fetch reaches the server" \
    'seen "\"host\":\"allowed.test\",\"path\":\"/loosened\""' 'wan log: $(head -c 200 "$WLOG"); $(why)'
