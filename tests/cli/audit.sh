# `isorun audit` and the audit store seen from outside: the table, JSON
# lines, filters, usage errors, --follow, kill -9 of a writer, a flood from
# several threads. Events are written by tests/net/audittool.c.
# shellcheck source=tests/cli/lib.sub
. "$(dirname "$0")/lib.sub"

AT=${ISORUN_BUILD:-build/san}/tests/audittool
[ -x "$AT" ] || { fail "audit: setup" "no $AT"; exit 1; }
PIDS=
cleanup() {
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT

ms() { echo $(($(date +%s%N) / 1000000)); }

DB=$TMP/a.db
ESC=$(printf '\033')
"$AT" emit "$DB" sandbox=sb1 name=evil.example source=sni count=2 \
    dst=203.0.113.10:443 reason='no rule allows evil.example' &&
"$AT" emit "$DB" sandbox=sb2 kind=close verdict=allowed up=100 down=2000 \
    ms=55 rule=example.com name=example.com source=host \
    dst='[2001:db8::5]:80' reason='allow rule example.com' &&
"$AT" emit "$DB" sandbox=sb1 kind=dns proto=dns qname=x.example qtype=28 \
    rcode=NXDOMAIN name=x.example source=dns dst=100.64.0.1:53 ago=3h \
    reason='deny rule x.example' rule=x.example &&
"$AT" emit "$DB" sandbox=sb3 name="bad${ESC}[31mname" dst=198.51.100.7:22 \
    rule=guard reason='guard list' ||
    fail "audit: setup" "audittool emit failed"

# The table: a header, one line per row, oldest first.
run audit --db "$DB"
rc_is "audit: exit 0" 0
if [ "$(printf '%s\n' "$out" | head -n 1 | awk '{print $1, $2, $3, $4,
    $5, $6, $7, $8}')" = "TIME SANDBOX PROTO DESTINATION NAME VERDICT RULE REASON" ]
then pass "audit: table header"
else fail "audit: table header" "$(printf '%s\n' "$out" | head -n 1)"
fi
got=$(printf '%s\n' "$out" | awk 'NR > 1 { print $2, $3, $4, $5, $6, $7 }')
want="sb1 dns 100.64.0.1:53 x.example blocked x.example
sb1 tcp 203.0.113.10:443 evil.example blocked default
sb1 tcp 203.0.113.10:443 evil.example blocked default
sb2 tcp [2001:db8::5]:80 example.com allowed example.com
sb3 tcp 198.51.100.7:22 bad\\x1b[31mname blocked guard"
if [ "$got" = "$want" ]; then pass "audit: table rows, oldest first"
else fail "audit: table rows, oldest first" "got:
$got"
fi
case $out in
*"$ESC"*) fail "audit: guest bytes escaped" "a raw ESC reached the terminal" ;;
*) pass "audit: guest bytes escaped" ;;
esac
case $(printf '%s\n' "$out" | awk 'NR == 3') in
*"no rule allows evil.example") pass "audit: reason column" ;;
*) fail "audit: reason column" "$out" ;;
esac

# JSON lines: the JSON form of the events, one per line.
run audit --db "$DB" --json
if printf '%s\n' "$out" | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
assert len(rows) == 5, len(rows)
d, c, c2, cl, g = rows
assert list(d) == ["time_ns", "sandbox", "event", "proto", "src", "sport",
    "dst", "dport", "name", "name_source", "verdict", "rule", "reason",
    "qname", "qtype", "rcode"], list(d)
assert (d["event"], d["qname"], d["qtype"], d["rcode"], d["verdict"]) == \
    ("dns", "x.example", 28, "NXDOMAIN", "blocked"), d
assert (c["dst"], c["dport"], c["name"], c["name_source"], c["rule"]) == \
    ("203.0.113.10", 443, "evil.example", "sni", "default"), c
assert (cl["event"], cl["dst"], cl["dport"], cl["bytes_up"],
    cl["bytes_down"], cl["duration_ms"], cl["verdict"]) == \
    ("close", "2001:db8::5", 80, 100, 2000, 55, "allowed"), cl
assert g["name"] == "bad\x1b[31mname" and g["rule"] == "guard", g
assert all(r["time_ns"] > 1.6e18 for r in rows)
assert "count" not in c
' 2>"$TMP/py"; then pass "audit --json: fields and values"
else fail "audit --json: fields and values" "$(tail -n 1 "$TMP/py")"
fi

# filters: count_rows NAME WANT ARGS...
count_rows() {
	name=$1 want=$2
	shift 2
	run audit --db "$DB" --json "$@"
	n=$(printf '%s' "$out" | grep -c '^{')
	if [ "$rc" -eq 0 ] && [ "$n" -eq "$want" ]; then pass "$name"
	else fail "$name" "exit $rc, $n rows, want $want: $err"
	fi
}
count_rows "audit SANDBOX" 3 sb1
count_rows "audit --verdict blocked" 4 --verdict blocked
count_rows "audit --verdict allowed" 1 --verdict allowed
count_rows "audit --since 1h leaves the 3 h old row out" 4 --since 1h
count_rows "audit --since 4h" 5 --since 4h
count_rows "audit SANDBOX --since --verdict" 2 sb1 --since 2h --verdict blocked
count_rows "audit --limit 2" 2 --limit 2
count_rows "audit: a destroyed or unknown sandbox" 0 sb-gone
run audit --db "$DB" --limit 1 --json
case $out in
*'"sandbox":"sb3"'*) pass "audit --limit keeps the newest" ;;
*) fail "audit --limit keeps the newest" "$out" ;;
esac

# A flood summarized: a row with a count.
"$AT" emit "$TMP/p.db" queue=4 pause=1 count=20 sandbox=fl
run audit --db "$TMP/p.db"
case $(printf '%s\n' "$out" | tail -n 1) in
*"[16 events] no rule allows it") pass "audit: a summary shows its count" ;;
*) fail "audit: a summary shows its count" "$out" ;;
esac
run audit --db "$TMP/p.db" --json
if printf '%s\n' "$out" | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
assert [r.get("count", 1) for r in rows] == [1, 1, 1, 1, 16], rows
assert rows[4]["last_ns"] >= rows[4]["time_ns"]
' 2>"$TMP/py"; then pass "audit --json: count and last_ns of a summary"
else fail "audit --json: count and last_ns of a summary" "$(tail -n 1 "$TMP/py")"
fi

# Requests on intercepted connections, and one event for N attempts.
RDB=$TMP/r.db
"$AT" emit "$RDB" sandbox=rq kind=request name=api.example source=sni \
    method=DELETE path="/v1/admin/u${ESC}x" rule='deny DELETE /v1/admin/*' \
    reason='denied by an endpoint rule' ago=2s &&
"$AT" emit "$RDB" sandbox=rq kind=close verdict=allowed requests=12 \
    rule=api.example name=api.example source=sni reason=closed ago=1s &&
"$AT" emit "$RDB" sandbox=rq attempts=7 reason='rate limit' ||
    fail "audit: requests setup" "audittool emit failed"
run audit --db "$RDB"
line=$(printf '%s\n' "$out" | awk 'NR == 2')
case $line in
*"api.example "*" blocked "*"deny DELETE /v1/admin/*  DELETE /v1/admin/u\x1bx: denied by an endpoint rule")
	pass "audit: a request line shows METHOD path and rule" ;;
*) fail "audit: a request line shows METHOD path and rule" "$line" ;;
esac
case $(printf '%s\n' "$out" | awk 'NR == 3') in
*"closed [intercepted, 12 requests]") pass "audit: an intercepted close shows its requests" ;;
*) fail "audit: an intercepted close shows its requests" "$out" ;;
esac
case $(printf '%s\n' "$out" | awk 'NR == 4') in
*"[7 events] rate limit") pass "audit: one event for 7 attempts shows its count" ;;
*) fail "audit: one event for 7 attempts shows its count" "$out" ;;
esac
run audit --db "$RDB" --json
if printf '%s\n' "$out" | python3 -c '
import json, sys
r, c, n = [json.loads(l) for l in sys.stdin]
assert list(r)[-3:] == ["reason", "method", "path"], list(r)
assert (r["event"], r["verdict"], r["method"], r["path"], r["rule"]) == \
    ("request", "blocked", "DELETE", "/v1/admin/u\x1bx",
    "deny DELETE /v1/admin/*"), r
assert list(c)[-2:] == ["requests", "intercepted"], list(c)
assert c["requests"] == 12 and c["intercepted"] is True, c
assert n["count"] == 7 and "last_ns" not in n and "method" not in n, n
' 2>"$TMP/py"; then pass "audit --json: request, intercepted close, emitter count"
else fail "audit --json: request, intercepted close, emitter count" "$(tail -n 1 "$TMP/py")"
fi
run audit --db "$RDB" --json --verdict blocked
case $(printf '%s\n' "$out" | head -n 1) in
*'"event":"request"'*) pass "audit --verdict blocked: denied requests" ;;
*) fail "audit --verdict blocked: denied requests" "$out" ;;
esac

# Usage errors: exit 2, the flag named and why.
status "audit --since 10x" 2 "--since '10x': unknown unit 'x'" \
    audit --db "$DB" --since 10x
status "audit --since 10" 2 "--since '10': a number needs a unit" \
    audit --db "$DB" --since 10
status "audit --since ''" 2 "--since '': empty" audit --db "$DB" --since ''
status "audit --since without a value" 2 "option '--since' needs an argument" \
    audit --db "$DB" --since
status "audit --verdict maybe" 2 "--verdict 'maybe': must be blocked or allowed" \
    audit --db "$DB" --verdict maybe
status "audit --limit 0" 2 "--limit '0': must be a whole number" \
    audit --db "$DB" --limit 0
status "audit --limit x" 2 "--limit 'x'" audit --db "$DB" --limit x
status "audit --frobnicate" 2 "audit: unknown option '--frobnicate'" \
    audit --frobnicate
status "audit: two sandboxes" 2 "unexpected argument 'b': give one SANDBOX" \
    audit --db "$DB" a b
status "audit --db ''" 2 "--db: empty path" audit --db ''
status "audit: missing database" 1 "$TMP/none.db: No such file" \
    audit --db "$TMP/none.db"
[ ! -e "$TMP/none.db" ] && pass "audit: a missing database is not created" ||
    fail "audit: a missing database is not created" "it was"
printf 'not a database at all, just text that is long enough to fill a header.......\n' \
    >"$TMP/junk.db"
status "audit: not a database" 2 "$TMP/junk.db: cannot read it: file is not a database" \
    audit --db "$TMP/junk.db"
status "audit: a directory" 2 "not a regular file" audit --db "$TMP"
run audit --help
case $rc:$out in
0:*"--since DURATION"*"/var/lib/isorun/audit.db"*) pass "audit --help" ;;
*) fail "audit --help" "exit $rc: $out" ;;
esac
run help
case $out in
*"audit "*"audit trail"*) pass "help lists audit" ;;
*) fail "help lists audit" "$out" ;;
esac

# --follow: events written while following appear within 1 s of being
# emitted, though the writer only commits on its own schedule.
FDB=$TMP/f.db
"$AT" emit "$FDB" sandbox=fo reason=before
sh -c 'echo $$ >"$1"; shift; exec "$@"' sh "$TMP/follow.pid" \
    "$ISORUN" audit --db "$FDB" --follow --json fo 2>"$TMP/follow.err" |
    while IFS= read -r l; do
	printf '%s %s\n' "$(date +%s%N)" "$l"
    done >"$TMP/follow.out" &
PIDS="$PIDS $!"
sleep 0.5
"$AT" trickle "$FDB" 300 3 sandbox=fo &&
"$AT" trickle "$FDB" 100 2 sandbox=other
sleep 1
FPID=$(cat "$TMP/follow.pid")
PIDS="$PIDS $FPID"
kill "$FPID"
wait
if python3 -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
rows = [(int(l.split(" ", 1)[0]), json.loads(l.split(" ", 1)[1]))
    for l in lines]
reasons = [r["reason"] for _, r in rows]
assert reasons == ["before", "trickle 0", "trickle 1", "trickle 2"], reasons
lat = [(seen - r["time_ns"]) / 1e6 for seen, r in rows[1:]]
assert all(0 <= x < 1000 for x in lat), lat
print("# follow latency ms: " + " ".join("%.0f" % x for x in lat))
' "$TMP/follow.out" 2>"$TMP/py"; then
	cat "$TMP/py"
	pass "audit --follow: new events of the sandbox within 1 s"
else
	fail "audit --follow: new events of the sandbox within 1 s" \
	    "$(tail -n 1 "$TMP/py"); $(cat "$TMP/follow.out" "$TMP/follow.err")"
fi

# kill -9 of a writer under load: the database opens, passes
# integrity_check, and holds every event emitted more than 1 s before the
# kill, in order, without holes.
KDB=$TMP/k.db
"$AT" load "$KDB" 10000 >"$TMP/load.out" &
LPID=$!
PIDS="$PIDS $LPID"
sleep 2
killed=$(date +%s%N)
kill -9 "$LPID"
wait "$LPID" 2>/dev/null
"$AT" count "$KDB" >"$TMP/count.out" 2>&1
if python3 -c '
import sqlite3, sys
killed = int(sys.argv[1])
prog = [l.split() for l in open(sys.argv[2])]
prog = [(int(p[1]), int(p[3])) for p in prog if p and p[0] == "emitted"]
want = max([n for n, t in prog if t <= killed - 1000000000] + [0])
last = prog[-1][0]
c = open(sys.argv[3]).read().split()
assert c[-1] == "ok", "integrity_check: " + " ".join(c)
events = int(c[3])
assert want > 5000, "too few emitted before the last second: %d" % want
assert want <= events, "%d events stored, %d emitted > 1 s before the kill" % (events, want)
db = sqlite3.connect(sys.argv[4])
seq = [int(r[0].split()[1]) for r in db.execute("SELECT reason FROM events ORDER BY id")]
assert seq == list(range(len(seq))), "holes or disorder"
print("# kill -9: %d stored, %d emitted 1 s before the kill, %d at the last report" % (events, want, last))
' "$killed" "$TMP/load.out" "$TMP/count.out" "$KDB" 2>"$TMP/py" >"$TMP/py.out"; then
	cat "$TMP/py.out"
	pass "kill -9 of the writer: intact, at most the last second lost"
else
	fail "kill -9 of the writer: intact, at most the last second lost" \
	    "$(tail -n 1 "$TMP/py"): $(cat "$TMP/count.out")"
fi
"$AT" emit "$KDB" sandbox=after reason=after-crash
run audit --db "$KDB" --limit 1 --json
case $rc:$out in
0:*after-crash*) pass "kill -9: the store reopens and takes new events" ;;
*) fail "kill -9: the store reopens and takes new events" "exit $rc: $out $err" ;;
esac

# A flood of 100,000 events from 4 threads: every one counted, as a row or
# inside a summary.
"$AT" flood "$TMP/flood.db" 4 100000 >"$TMP/flood.out" 2>&1
"$AT" count "$TMP/flood.db" >"$TMP/count.out" 2>&1
read -r _ emitted _ summarized _ wall _ cpu _ emit_ms _ total_ms \
    <"$TMP/flood.out"
read -r _ rows _ events _ insum _ _ _ integ <"$TMP/count.out"
echo "# flood: $emitted events from 4 threads in $emit_ms ms ($total_ms ms" \
    "until committed): $rows rows, $summarized summarized;" \
    "ns per emit: $wall wall, $cpu cpu"
if [ "$emitted" = 100000 ] && [ "$events" = 100000 ] &&
    [ "$insum" = "$summarized" ] && [ "$integ" = ok ]; then
	pass "flood: 100000 emitted, 100000 counted in the store"
else
	fail "flood: 100000 emitted, 100000 counted in the store" \
	    "$(cat "$TMP/flood.out" "$TMP/count.out")"
fi
if [ "${total_ms:-99999}" -lt 10000 ]; then pass "flood: written in a few seconds"
else fail "flood: written in a few seconds" "$total_ms ms"
fi
"$AT" flood "$TMP/flood1.db" 1 100000 >"$TMP/flood.out" 2>&1
read -r _ _ _ _ _ wall _ cpu _ _ <"$TMP/flood.out"
echo "# flood, one thread: ns per emit: $wall wall, $cpu cpu"
