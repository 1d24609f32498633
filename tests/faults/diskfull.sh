#!/bin/sh
# diskfull.sh - the audit store's file system fills up. The store lives on
# a small tmpfs of the test's own (unmounted on exit); while it is full the
# runner keeps enforcing and serving (allowed fetches reach the wan, blocked
# ones do not, the API answers), says so on stderr and in its metrics, and
# keeps the events in memory (as summaries with their counts past the
# queue's size) until it can write them. When space is freed, they and new
# events are written, the store passes integrity_check, and every event
# emitted is in the store (as a row or inside a summary's count).
TEST=faults
. "$(dirname "$0")/lib.sub"

MNT=$T/adb
mkdir -p "$MNT"
if ! mount -t tmpfs -o size=1m,mode=0700 irt-audit "$MNT"; then
	nok setup "cannot mount a tmpfs on $MNT"
	exit 1
fi
# Unmounted (lazily: the daemon may hold the database until it is
# stopped) before api_cleanup removes $T.
UMNT=$MNT
DB=$MNT/audit.db

d_start --audit-db "$DB" || { nok start "isorund did not start"; exit 1; }
api POST /v1/sandboxes '{"id":"f1","network":{"allow":["allowed.test"]}}'
check "a sandbox, its audit store on a 1 MiB tmpfs" '[ "$ST" = 201 ]' "$ST $(cat "$BODYF")"
NS=/run/netns/$R-sb0
nsenter --net="$NS" python3 tests/net/lib/dnsq.py 192.0.2.53 allowed.test >/dev/null

dbsql() { sqlite3 -batch -noheader "$DB" "$1"; }
# traffic TAG N: N allowed fetches (each after three DNS queries: ours,
# curl's A and AAAA) and N blocked ones from the sandbox; sets OKN (allowed
# fetches that got their answer).
traffic() {
	OKN=0
	_i=0
	while [ $_i -lt "$2" ]; do
		_i=$((_i + 1))
		nsenter --net="$NS" python3 tests/net/lib/dnsq.py 192.0.2.53 allowed.test >/dev/null
		nsenter --net="$NS" curl -s -m 2 -o /dev/null -w '%{http_code}\n' \
		    "http://allowed.test/$1/$_i" | grep -q 200 && OKN=$((OKN + 1))
		nsenter --net="$NS" curl -s -m 2 -o /dev/null "http://192.0.2.12/$1/$_i"
	done
}
counts() {
	E=$(metric isorun_audit_events_total)
	D=$(metric isorun_audit_events_dropped_total)
	W=$(metric isorun_audit_rows_written_total)
}

traffic before 5
sleep 0.5
n=$(dbsql "SELECT count(*) FROM events WHERE sandbox = 'f1'")
check "space left: events are written ($n rows)" '[ "$n" -ge 15 ]' "$n"

# Fill the file system.
dd if=/dev/zero of="$MNT/fill" bs=4k 2>/dev/null
df -k "$MNT" | sed 's/^/# /'
counts
E0=$E D0=$D
universe_wan_reset "$U"
universe_logs_reset "$U"
tfs=$(now_ms)
traffic full 20
tfe=$(now_ms)
sleep 1
counts
# The gauge, at its highest over a second (it reads 0 while the writer
# holds the batch it is trying).
Q=0
for _i in 1 2 3 4 5 6 7 8 9 10; do
	q=$(metric isorun_audit_queue_events)
	[ "${q:-0}" -gt "$Q" ] && Q=$q
	sleep 0.1
done
echo "# full: events $E0 -> $E, dropped $D0 -> $D, written $W, waiting $Q"
check "disk full: allowed fetches still served ($OKN of 20 reached allowed.test)" \
    '[ "$OKN" = 20 ] && [ "$(grep -c "\"path\":\"/full/" "$(universe_wan_log "$U")")" = 20 ]' \
    "$OKN; $(tail -2 "$(universe_wan_log "$U")")"
check "disk full: blocked ones still blocked (nothing to 192.0.2.12)" \
    '[ "$(universe_wan_count "$U" all 192.0.2.12)" = 0 ]' "$(universe_wan_count "$U" all 192.0.2.12) packets"
api GET /v1/sandboxes/f1
check "disk full: the API answers" '[ "$ST" = 200 ]' "$ST"
grep 'audit' "$T/daemon.log" | sed 's/^/# log: /' | tail -5
check "disk full: a clear log line says the audit store cannot write, and that it keeps the events" \
    'grep -q "audit database .*/audit.db: cannot write: database or disk is full; [0-9]* events kept in memory until it can" "$T/daemon.log"' \
    "$(tail -3 "$T/daemon.log")"
check "disk full: the metrics show them waiting ($Q), none dropped" \
    '[ "${Q:-0}" -gt 0 ] && [ "$D" = "$D0" ]' "waiting $Q, dropped $D0 -> $D"

rm -f "$MNT/fill"
tf=$(now_ms)
traffic after 3
sleep 1
n=$(dbsql "SELECT count(*) FROM events WHERE time_ns > ${tf}000000")
check "space freed: new events are written ($n rows)" '[ "$n" -ge 9 ]' "$n"
check "space freed: the log says it writes again" \
    'grep -q "audit database .*/audit.db: writing again" "$T/daemon.log"' "$(tail -3 "$T/daemon.log")"
w=$(dbsql "SELECT event || ':' || verdict || ':' || sum(count) FROM events WHERE sandbox = 'f1' AND time_ns BETWEEN ${tfs}000000 AND ${tfe}000000 GROUP BY event, verdict ORDER BY 1" | tr '\n' ' ')
check "space freed: every event of the full spell is in the store ($w)" \
    '[ "$w" = "close:allowed:20 connect:allowed:20 connect:blocked:20 dns:allowed:60 " ]' "$w"
ic=$(dbsql 'PRAGMA integrity_check' 2>&1)
check "space freed: the store passes integrity_check" '[ "$ic" = ok ]' "$ic"
counts
S=$(dbsql "SELECT sum(count) FROM events")
echo "# events $E, rows written $W (standing for $S events), dropped $D"
check "no count lost silently: events emitted = in the store + dropped ($E = $S + $D)" \
    '[ "$E" = $((S + D)) ]' "$E != $S + $D"
d_stop TERM
check "isorund stops cleanly (exit 0: no leak under ASan)" '[ "$DRC" = 0 ]' \
    "exit $DRC: $(tail -3 "$T/daemon.log")"
exit 0
