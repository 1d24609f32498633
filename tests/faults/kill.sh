#!/bin/sh
# kill.sh - isorund killed with SIGKILL at random moments while three
# sandboxes keep fetching, resolving and uploading and an exec runs. While
# it is dead nothing of theirs reaches the wan (its counters and logs); the
# next isorund adopts them (listed, same policies), allowed fetches flow
# again and blocked ones stay blocked; the audit store passes
# integrity_check and holds every connection the wan saw more than a second
# before the kill. Judged by the wan's servers, counters and dnsmasq's log.
TEST=faults
. "$(dirname "$0")/lib.sub"

CYCLES=${FAULTS_KILL_CYCLES:-3}
LOOPENV='export RES_OPTIONS="timeout:1 attempts:1"'
WALL=$T/wan.all		# the wan log of every cycle (the live one is reset)

d_start || { nok start "isorund did not start"; exit 1; }
api POST /v1/sandboxes '{"id":"k1","network":{"allow":["*.example.com"]}}'
s1=$ST
api POST /v1/sandboxes '{"id":"k2","network":{"allow":["allowed.test"]}}'
s2=$ST
api POST /v1/sandboxes '{"id":"k3","network":{"deny":["blocked.test","192.0.2.12"]}}'
check "three sandboxes created" '[ "$s1$s2$ST" = 201201201 ]' "$s1 $s2 $ST"

# k1: a new name (so a new audit row) per fetch, and a denied name;
# k2: DNS, allowed and denied names, and fetches; k3: uploads into the
# sink and a literal address its policy denies.
bg k1 k1 "$LOOPENV; i=0; while :; do i=\$((i+1));
	curl -s -m 2 -o /dev/null http://r\$i.example.com/k1/\$i
	curl -s -m 1 -o /dev/null http://blocked.test/k1/\$i
	sleep 0.05; done"
bg k2 k2 "$LOOPENV; i=0; while :; do i=\$((i+1));
	getent hosts allowed.test; getent hosts no\$i.test
	curl -s -m 2 -o /dev/null http://allowed.test/k2/\$i
	sleep 0.1; done"
bg k3 k3 "i=0; while :; do i=\$((i+1));
	head -c 200000 /dev/zero | socat -t 2 -T 3 - TCP:192.0.2.11:5001
	curl -s -m 1 -o /dev/null http://192.0.2.12/k3/\$i
	sleep 0.1; done"

# wan_since MS ERE: lines of the live wan log written after MS that match.
wan_since() {
	python3 -c 'import json, re, sys
n = 0
for l in open(sys.argv[1]):
    try:
        j = json.loads(l)
    except ValueError:
        continue
    if j["t"] * 1000 > int(sys.argv[2]) and re.search(sys.argv[3], l):
        n += 1
print(n)' "$WLOG" "$1" "$2"
}

# wait_wan MS ERE SECONDS: waits until wan_since MS ERE is not 0.
wait_wan() {
	_i=0
	while [ "$(wan_since "$1" "$2")" = 0 ]; do
		[ $_i -ge $(($3 * 10)) ] && return 1
		sleep 0.1
		_i=$((_i + 1))
	done
}

if ! wait_wan 0 '"host":"r[0-9]+\.example\.com"' 10 ||
    ! wait_wan 0 '"host":"allowed.test"' 10 || ! wait_wan 0 '"dport":5001' 10; then
	nok "load" "the loops' traffic never reached the wan: $(tail -3 "$WLOG")"
	exit 1
fi
ok "load: the three loops reach the wan"

c=0
while [ $c -lt "$CYCLES" ]; do
	c=$((c + 1))
	delay=$(rand_ms 1000 3000)
	# An exec in flight at the kill.
	curl -sS --unix-socket "$SOCK" -H 'Content-Type: application/json' \
	    -d '{"cmd":"sleep 30"}' http://localhost/v1/sandboxes/k3/exec \
	    >"$T/exec.$c" 2>&1 &
	EP=$!
	ms_sleep "$delay"
	tk=$(now_ms)
	d_stop KILL
	C="kill #$c after $delay ms"
	t0=$(now_ms)
	{ wait $EP; } 2>/dev/null
	erc=$?
	t=$(elapsed_ms "$t0")
	check "$C: the exec's client gets an error at once (${t} ms), no hang" \
	    '[ $erc != 0 ] && [ $t -lt 2000 ]' "curl exit $erc after $t ms: $(cat "$T/exec.$c")"

	# What the kill itself closes (the runner's upstream sockets) settles
	# first; from then on nothing may leave while the loops keep trying.
	ms_sleep 300
	universe_wan_reset "$U"
	tr=$(now_ms)
	nd0=$(grep -c 'query\[' "$DNSLOG")
	ms_sleep 1500
	n=$(universe_wan_count "$U")
	nl=$(wan_since "$tr" .)
	nd=$(($(grep -c 'query\[' "$DNSLOG") - nd0))
	check "$C: dead for 1.5 s, the loops reach nothing in wan" \
	    '[ "$n" = 0 ] && [ "$nl" = 0 ] && [ "$nd" = 0 ]' \
	    "$n packets, $nl wan log lines, $nd DNS queries; $(tail -2 "$WLOG")"

	ic=$(sql 'PRAGMA integrity_check' 2>&1)
	check "$C: the audit store passes integrity_check" '[ "$ic" = ok ]' "$ic"
	# Every k1 fetch the wan saw (since the last restart) a second before
	# the kill has its row.
	cat "$WLOG" >>"$WALL"
	out=$(python3 -c 'import json, re, sqlite3, sys
db = sqlite3.connect(sys.argv[2])
names = set(r[0] for r in db.execute(
    "SELECT name FROM events WHERE sandbox = ? AND event = ?", ("k1", "connect")))
last = db.execute("SELECT max(time_ns) FROM events").fetchone()[0] or 0
want = miss = 0
for l in open(sys.argv[1]):
    j = json.loads(l)
    h = j.get("host") or ""
    if not re.fullmatch(r"r[0-9]+\.example\.com", h):
        continue
    if j["t"] * 1000 > int(sys.argv[3]) - 1000:
        continue
    want += 1
    if h not in names:
        miss += 1
        print("missing", h, j["t"], list(db.execute(
            "SELECT time_ns, sandbox, event, name, qname, verdict, reason FROM events WHERE name = ? OR qname = ?", (h, h))))
print(want, miss, int(sys.argv[3]) - last // 1000000)' "$WLOG" "$T/audit.db" "$tk" 2>&1)
	read -r nw nm ago <<EOF
$(echo "$out" | tail -1)
EOF
	check "$C: all $nw k1 fetches older than 1 s are in the audit (newest row $ago ms before the kill)" \
	    '[ "${nw:-0}" -ge 1 ] && [ "${nm:-x}" = 0 ] && [ "${ago:-9999}" -lt 1000 ]' "$out"
	universe_logs_reset "$U"

	t0=$(now_ms)
	d_start || { nok "$C: restart" "isorund did not start"; exit 1; }
	ts=$(now_ms)
	check "$C: restart re-adopts k1, k2, k3 ($((ts - t0)) ms to ready)" \
	    '[ "$(grep -c "adopted sandbox k[123]" "$T/daemon.log")" = $((3 * c)) ] && [ "$(runner_left)" = "$R-gw $R-sb0 $R-sb1 $R-sb2 " ]' \
	    "$(grep -E 'adopt|destroy|error' "$T/daemon.log" | tail -5); left: $(runner_left)"
	api GET /v1/sandboxes
	l=$(python3 -c 'import json,sys; print(" ".join(s["id"] + ":" +
",".join(s["network"]["allow"] + ["/"] + s["network"]["deny"]) for s in
json.load(open(sys.argv[1]))["sandboxes"]))' "$BODYF" 2>&1)
	check "$C: listed with their policies intact" \
	    '[ "$l" = "k1:*.example.com,/ k2:allowed.test,/ k3:/,blocked.test,192.0.2.12" ]' "$l"
	check "$C: allowed fetches of k1, k2, k3 flow again" \
	    'wait_wan "$ts" "\"host\":\"r[0-9]+\.example\.com\"" 5 && wait_wan "$ts" "\"host\":\"allowed.test\"" 5 && wait_wan "$ts" "\"dport\":5001" 5' \
	    "wan log: $(tail -3 "$WLOG")"
	check "$C: blocked ones stay blocked (nothing to 192.0.2.12, no denied name asked)" \
	    '[ "$(universe_wan_count "$U" all 192.0.2.12)" = 0 ] && ! grep -q "no[0-9]*\.test" "$DNSLOG"' \
	    "$(universe_wan_count "$U" all 192.0.2.12) packets; $(grep 'no[0-9]*\.test' "$DNSLOG" | head -2)"
done

cat "$WLOG" >>"$WALL"
check "over all cycles: no connection to 192.0.2.12 in the wan log" \
    '! grep -q "\"dst\":\"192.0.2.12\"" "$WALL"' "$(grep '"dst":"192.0.2.12"' "$WALL" | head -2)"
tl=$(now_ms)
ms_sleep 1200
n=$(sql "SELECT count(*) FROM events WHERE time_ns > ${tl}000000")
check "the last daemon writes new events ($n in 1.2 s)" '[ "$n" -gt 0 ]' "none"
sbexec k3 'echo alive'
check "an exec after the last restart works" '[ "$ST" = 200 ] && [ "$(jv stdout)" = alive ]' \
    "$ST $(cat "$BODYF")"
d_stop TERM
check "the last daemon stops cleanly (exit 0: no leak under ASan)" '[ "$DRC" = 0 ]' \
    "exit $DRC: $(tail -3 "$T/daemon.log")"
n=$(ps -eo args | grep -c "[i]sorund .*--name $R ")
check "no isorund process is left" '[ "$n" = 0 ]' "$n"
exit 0
