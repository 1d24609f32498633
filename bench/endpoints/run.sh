#!/bin/sh
# run.sh - the speed of TLS interception (issue 9, "Speed"), in the closed
# test universe (tests/net/lib/universe.sub). Needs root.
#
# Far end: `bench_endpoints server` in NAME-wan on 192.0.2.10:9443 (the
# universe's own servers hold :443), the universe's certificate for
# api.openai.com. pxtool plays the runner in NAME-host with interception
# on, and two sandboxes whose policy allows api.openai.com:
#   e  no endpoint rules: TLS passes the proxy end to end (splice); the
#      client trusts the universe CA - the baseline;
#   i  endpoint rules POST /v1/chat/completions and GET /v1/models allowed,
#      Authorization injected from a runner-held secret: intercepted; the
#      client trusts the runner's CA.
# The same client runs in both (keep-alive connections sending the two
# allowed requests in turn, each with a guest placeholder Authorization),
# rounds alternating the paths (the order flips every round); a ratio is
# taken per round, then the median and range over rounds. Every run is
# checked against what the far end counted per connection (requests, the
# injected Authorization on every intercepted one and on no other) and
# against the audit (no request event, i.e. no denial; intercepted close
# events with the right request counts). Prints a markdown table; exits 0
# if every target is met, 1 if one is not, 2 on an error.
#
# Environment:
#   ISORUN_BUILD	where pxtool is, and where bench_endpoints is built
#			($ISORUN_BUILD/bench/endpoints/; default build/rel)
#   BENCH_REPS		rounds (5)
#   BENCH_SECS		seconds per run (2)
#   BENCH_ONLY		series to run (ka1 ka8 ka32 big8 new)
#   BENCH_PX_THREADS	pxtool's event loops (2)
#   BENCH_NICE		nice level of the far end, pxtool and the clients
#			(-10): the machine is shared, and the intercepted
#			path concentrates its work in pxtool's few threads,
#			which at nice 0 get only a fair share against
#			neighbours' builds; 0 to turn off
#   BENCH_PERF		a folder: perf record -g of pxtool during the first
#			round's intercepted runs
#   BENCH_OUT		a file to append the raw result lines to
#   BENCH_KEEP		a folder to copy the raw lines, the audit and the
#			far end's output to
#   BENCH_NO_BUILD	1: do not run make first
#   BENCH_TIMEOUT	seconds before the whole run is abandoned (300)
set -u
cd "$(dirname "$0")/../.." || exit 2
B=${ISORUN_BUILD:-build/rel}
PX=$B/tests/pxtool
BE=$B/bench/endpoints/bench_endpoints
REPS=${BENCH_REPS:-5}
SECS=${BENCH_SECS:-2}
ONLY=${BENCH_ONLY:-ka1 ka8 ka32 big8 new}
NICE="nice -n ${BENCH_NICE:--10}"
SRV=192.0.2.10
PORT=9443
HOST=api.openai.com
SECRET=sk-bench-$$-7f3a9c
GUEST_KEY='Bearer guest-placeholder'

if [ "$(id -u)" != 0 ]; then
	echo "bench/endpoints: needs root (network namespaces); skipped" >&2
	exit 0
fi
if [ -z "${BENCH_NO_BUILD:-}" ]; then
	# the Makefile's bench rule writes to build/bench/; this one to $B
	printf '%s\n' '$(BUILD)/bench/%: bench/%.c $(LIB)' \
	    '	@mkdir -p $(@D)' \
	    '	$(CC) $(CFLAGS) -Isrc -o $@ $< $(LIB) $(LDLIBS)' |
	    make -s -j2 SAN=0 BUILD="$B" -f Makefile -f - "$PX" "$BE" >&2 || {
		echo "bench/endpoints: build failed" >&2; exit 2; }
fi
for f in "$PX" "$BE"; do
	[ -x "$f" ] || { echo "bench/endpoints: $f is not built" >&2; exit 2; }
done

. tests/net/lib/universe.sub
U=irt-$$
R=$U-ep
T=$(mktemp -d)
PXPID='' SRVPID='' PERFPID='' DOGPID=''

cleanup() {
	exec 3>&- 2>/dev/null
	[ -n "$DOGPID" ] && kill "$DOGPID" 2>/dev/null
	[ -n "$PERFPID" ] && { kill -INT "$PERFPID" 2>/dev/null; wait "$PERFPID" 2>/dev/null; }
	[ -n "$PXPID" ] && { kill "$PXPID" 2>/dev/null; wait "$PXPID" 2>/dev/null; }
	[ -n "$SRVPID" ] && { kill "$SRVPID" 2>/dev/null; wait "$SRVPID" 2>/dev/null; }
	"$PX" purge "$R" >/dev/null 2>&1
	universe_down "$U"
	[ -n "${BENCH_KEEP:-}" ] && mkdir -p "$BENCH_KEEP" &&
		cp "$T/raw" "$T/audit" "$T/srv.out" "$BENCH_KEEP/" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 2' INT TERM HUP

fail() {
	echo "bench/endpoints: $*" >&2
	if [ -n "$PXPID" ] && ! kill -0 "$PXPID" 2>/dev/null; then
		echo "bench/endpoints: pxtool died; its last words:" >&2
		grep -v '^{' "$T/audit" | head -5 >&2
	fi
	exit 2
}
note() { echo "# $*" >&2; }

(
	trap 'kill $s 2>/dev/null; exit 0' TERM
	sleep "${BENCH_TIMEOUT:-300}" &
	s=$!
	wait $s && echo "bench/endpoints: timed out" >&2 && kill -TERM $$
) &
DOGPID=$!

universe_up "$U" || fail "universe_up failed"

# ---- the far end ----
$NICE ip netns exec "$U-wan" "$BE" server -a $SRV -p $PORT -t 2 \
    -c "$UNIVERSE_CERT" -k "$UNIVERSE_KEY" -A "Bearer $SECRET" \
    >"$T/srv.out" 2>&1 &
SRVPID=$!
universe_wait_file "$T/srv.out" '^ready' 5 || fail "server: $(cat "$T/srv.out")"

# ---- the runner: pxtool in NAME-host, interception on ----
mkfifo "$T/in"
mkdir -m 700 "$T/state"
$NICE nsenter --net=/run/netns/"$U-host" "$PX" run -t "${BENCH_PX_THREADS:-2}" \
    -E "$T/state" -U "$UNIVERSE_CA" "$R" <"$T/in" >"$T/out" 2>"$T/audit" &
PXPID=$!
exec 3>"$T/in"
nout=0
cmd() {	# one command; its answer in CMD_OUT
	echo "$*" >&3
	nout=$((nout + 1))
	_i=0
	while [ "$(grep -vc '^ready' "$T/out" 2>/dev/null)" -lt $nout ] && [ $_i -lt 200 ]; do
		sleep 0.05; _i=$((_i + 1))
	done
	CMD_OUT=$(grep -v '^ready' "$T/out" | sed -n "${nout}p")
}
expect() { cmd "$@"; case $CMD_OUT in "$W"*) ;; *) fail "$*: $CMD_OUT" ;; esac; }
universe_wait_file "$T/out" '^ready' 10 || fail "pxtool did not start: $(head -3 "$T/out" "$T/audit")"
RCA=$T/state/ca/ca.crt
[ -s "$RCA" ] || fail "pxtool made no CA in $T/state/ca"

sbns() { echo "$1" | sed -n 's/.* netns=\([^ ]*\) .*/\1/p'; }
W=added; expect add e allow=$HOST; NS_E=$(sbns "$CMD_OUT")
W=added; expect add i allow=$HOST; NS_I=$(sbns "$CMD_OUT")
[ -n "$NS_E" ] && [ -n "$NS_I" ] || fail "no sandbox namespace"
W=dns; expect dns e $SRV $HOST
W=dns; expect dns i $SRV $HOST
W='ep i'; expect ep i $HOST:$PORT 'rule=POST,/v1/chat/completions,allow' \
    'rule=GET,/v1/models,allow' 'cred=Authorization=Bearer%20${secret:k}'
W='secret k'; expect secret k "$SECRET"

HZ=$(getconf CLK_TCK)
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
secs_since() { awk -v a="$2" -v b="$(ticks "$1")" -v hz="$HZ" 'BEGIN { printf "%.2f", (b - a) / hz }'; }
raw() { echo "$*" >>"$T/raw"; [ -n "${BENCH_OUT:-}" ] && echo "$*" >>"$BENCH_OUT"; return 0; }
# client e|i SECS CONNS ARGS...: one client run in sandbox e or i
client() {
	_p=$1; shift
	if [ "$_p" = e ]; then _ns=$NS_E _ca=$UNIVERSE_CA; else _ns=$NS_I _ca=$RCA; fi
	_s=$1 _c=$2; shift 2
	$NICE ip netns exec "$_ns" "$BE" client $SRV $PORT $HOST "$_ca" "$_s" "$_c" \
	    -g "$GUEST_KEY" "$@"
}
# run LABEL PATH CONNS ARGS...: one measured run, recorded as "LABEL LINE"
run() {
	_l=$1 _p=$2 _c=$3
	shift 3
	if [ -n "${BENCH_PERF:-}" ] && [ "$round" = 0 ] && [ "$_p" = i ]; then
		mkdir -p "$BENCH_PERF"
		perf record -g -p "$PXPID" -o "$BENCH_PERF/$_l.data" >/dev/null 2>&1 &
		PERFPID=$!
		sleep 0.3
	fi
	_c0=$(ticks "$SRVPID") _x0=$(ticks "$PXPID")
	_o=$(client "$_p" "$SECS" "$_c" "$@" 2>&1 | tail -n 1)
	_o="$_o srv_cpu_s=$(secs_since "$SRVPID" "$_c0") px_cpu_s=$(secs_since "$PXPID" "$_x0")"
	if [ -n "$PERFPID" ]; then
		kill -INT "$PERFPID"; wait "$PERFPID"; PERFPID=''
	fi
	raw "$_l.$_p $_o"
	case $_o in ok=*" err=0 "*) ;; *) note "$_l.$_p: $_o" ;; esac
	kill -0 "$PXPID" 2>/dev/null || fail "$_l.$_p: pxtool is gone"
}
series_args() {
	case $1 in
	ka1) echo 1 ;;
	ka8) echo 8 ;;
	ka32) echo 32 ;;
	big8) echo 8 -s 16384 ;;
	new) echo 4 -n ;;
	*) fail "BENCH_ONLY: unknown series '$1'" ;;
	esac
}

# Sanity: both paths answer, the intercepted one with the runner's leaf.
for p in e i; do
	o=$(client $p 0.2 1 2>&1 | tail -n 1)
	raw "sanity.$p $o srv_cpu_s=0 px_cpu_s=0"
	case $o in ok=*" err=0 "*) ;; *) fail "path $p does not work: $o; audit: $(tail -n 2 "$T/audit")" ;; esac
done
o=$(ip netns exec "$NS_I" "$BE" client $SRV $PORT $HOST "$UNIVERSE_CA" 0.1 1 2>&1 | tail -n 1)
case $o in ok=[1-9]*) fail "path i is not intercepted (the universe CA verifies it): $o" ;; esac

for s in $ONLY; do series_args "$s" >/dev/null; done
note "$(uptime)"
round=0
while [ "$round" -lt "$REPS" ]; do
	for s in $ONLY; do
		# shellcheck disable=SC2046
		if [ $((round % 2)) = 0 ]; then
			run "$s" e $(series_args "$s"); run "$s" i $(series_args "$s")
		else
			run "$s" i $(series_args "$s"); run "$s" e $(series_args "$s")
		fi
	done
	note "round $((round + 1))/$REPS done; $(uptime)"
	round=$((round + 1))
done
UPTIME=$(uptime | sed 's/.*load average: //')

# ---- checks: the far end's per-connection counts, the audit ----
touch "$T/raw"
sumf() { grep -E "^$1 " "$T/raw" | tr ' ' '\n' | sed -n "s/^$2=//p" | awk '{ s += $1 } END { print s + 0 }'; }
ok_all=$(sumf '[a-z0-9]+\.[ei]' ok)
ok_i=$(sumf '[a-z0-9]+\.i' ok) ok_e=$(sumf '[a-z0-9]+\.e' ok)
conns_i=$(sumf '[a-z0-9]+\.i' conns) conns_e=$(sumf '[a-z0-9]+\.e' conns)
srvsum() { grep '^conn ' "$T/srv.out" | tr ' ' '\n' | sed -n "s/^$1=//p" | awk '{ s += $1 } END { print s + 0 }'; }
# the last connections end just after their clients: wait for them
i=0
while [ "$(srvsum reqs)" -lt "$ok_all" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
sleep 0.5
srv_reqs=$(srvsum reqs) srv_auth=$(srvsum auth) srv_other=$(srvsum other) srv_bad=$(srvsum bad)
# intercepted connections at the far end: those with the injected key
grep '^conn ' "$T/srv.out" | awk '{ split($3, a, "="); if (a[2] > 0) { split($2, r, "="); print r[2] } }' |
    sort -n >"$T/srv_i"
# (0-request ones are the refused handshakes of the sanity check)
grep '"event":"close"' "$T/audit" | grep '"intercepted":true' |
    sed -n 's/.*"requests":\([1-9][0-9]*\).*/\1/p' | sort -n >"$T/aud_i"
CHECKS=''
check() { eval "$2" || CHECKS="$CHECKS
  not ok: $1"; }
check "no failed request or connection in any run" \
    '! grep -E "^[a-z0-9]+\.[ei] " "$T/raw" | grep -qv " err=0 "'
check "the far end answered exactly the requests the clients counted ($srv_reqs vs $ok_all)" \
    '[ "$srv_reqs" = "$ok_all" ]'
check "every intercepted request carried the injected Authorization, no baseline one did ($srv_auth vs $ok_i)" \
    '[ "$srv_auth" = "$ok_i" ]'
check "every baseline request carried the guest's own Authorization, no intercepted one did ($srv_other vs $ok_e)" \
    '[ "$srv_other" = "$ok_e" ]'
check "no request with another method or path arrived ($srv_bad)" '[ "$srv_bad" = 0 ]'
check "no connection mixed the injected and the guest's key" \
    '! grep "^conn " "$T/srv.out" | awk "{ split(\$3, a, \"=\"); split(\$4, o, \"=\"); if (a[2] > 0 && o[2] > 0) exit 0; } END { exit 1 }"'
check "intercepted connections: the far end saw as many as the clients opened ($(wc -l <"$T/srv_i") vs $conns_i)" \
    '[ "$(wc -l <"$T/srv_i")" = "$conns_i" ]'
check "audit: no request event (nothing denied, no 400/502)" \
    '! grep -q "\"event\":\"request\"" "$T/audit"'
check "audit: intercepted close events, one per intercepted connection, each with the far end's request count" \
    'cmp -s "$T/srv_i" "$T/aud_i"'
check "audit: every other close event is not intercepted ($conns_e baseline connections)" \
    '[ "$(grep "\"event\":\"close\"" "$T/audit" | grep -vc "\"intercepted\":true")" -ge "$conns_e" ]'
cmd stats
check "nothing blocked ($CMD_OUT)" 'echo "$CMD_OUT" | grep -q " blocked=0 "'

# ---- the table ----
vals() { grep "^$1 " "$T/raw" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }
spread() { vals "$1" "$2" | sort -n | awk 'NR == 1 { a = $1 } { b = $1 } END { if (NR) printf "%s-%s", a, b }'; }
# per round: intercepted vs baseline (ratio or difference); median, min, max
paired() {
	vals "$1.e" "$2" >"$T/pe"
	vals "$1.i" "$2" >"$T/pi"
	paste "$T/pe" "$T/pi" | awk -v k="$3" '$1 != "" && $2 != "" && $1 > 0 {
		print (k == "ratio" ? $2 / $1 : $2 - $1) }' | sort -n |
	    awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)], v[1], v[NR] }'
}
MISSED=0
# row METRIC SERIES FIELD ratio|added TARGET|- UNIT
row() {
	_e=$(vals "$2.e" "$3" | median) _i=$(vals "$2.i" "$3" | median)
	[ -n "$_e" ] && [ -n "$_i" ] || return 0
	awk -v m="$1" -v e="$_e" -v i="$_i" -v k="$4" -v t="$5" -v u="$6" \
	    -v se="$(spread "$2.e" "$3")" -v si="$(spread "$2.i" "$3")" \
	    -v pr="$(paired "$2" "$3" "$4")" '
	BEGIN {
		split(pr, q, " ")
		if (k == "ratio") {
			res = sprintf("%.0f%% (%.0f-%.0f%%)", q[1] * 100, q[2] * 100, q[3] * 100)
			met = q[1] >= t / 100
			tg = sprintf(">= %d%%", t)
		} else {
			res = sprintf("%+.0f us (%+.0f to %+.0f)", q[1], q[2], q[3])
			met = q[1] <= t
			tg = sprintf("<= +%d us", t)
		}
		mt = met ? "yes" : "**no**"
		if (t == "-") { mt = "(info)"; tg = "-"; met = 1 }
		printf "| %s | %s %s (%s) | %s %s (%s) | %s | %s | %s |\n", m, e, u, se, i, u, si, res, tg, mt
		exit !met
	}' || MISSED=1
}
# cpurow METRIC SERIES: CPU seconds (client + far end + pxtool) per 1000
# requests, median over runs
cpu() {
	grep "^$1 " "$T/raw" | awk '{
		for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		if (v["ok"] > 0) printf "%.3f\n", (v["cpu_s"] + v["srv_cpu_s"] + v["px_cpu_s"]) * 1000 / v["ok"] }' | median
}
pxcpu() {
	grep "^$1 " "$T/raw" | awk '{
		for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		if (v["ok"] > 0) printf "%.0f\n", v["px_cpu_s"] * 1e6 / v["ok"] }' | median
}
cpurow() {
	_e=$(cpu "$2.e") _i=$(cpu "$2.i")
	[ -n "$_e" ] && [ -n "$_i" ] || return 0
	awk -v m="$1" -v e="$_e" -v i="$_i" -v pe="$(pxcpu "$2.e")" -v pi="$(pxcpu "$2.i")" 'BEGIN {
		printf "| %s | %.3f s (pxtool %s us/req) | %.3f s (pxtool %s us/req) | %.2fx | - | (info) |\n", m, e, pe, i, pi, i / e }'
}
has() { case " $ONLY " in *" $1 "*) return 0 ;; esac; return 1; }

echo
echo "Endpoints benchmark, $(date -u '+%Y-%m-%d %H:%M') UTC, $(nproc) CPUs, kernel $(uname -r)," \
    "load average at the end $UPTIME; $REPS rounds of ${SECS} s runs per figure; median" \
    "(fastest-slowest in brackets); the ratio and added columns compare the runs of one round, then take the median (range over rounds)."
echo
echo "| metric | end-to-end (splice) | intercepted | intercepted vs end-to-end | target | met |"
echo "|---|---:|---:|---:|---|---|"
has ka1 && row "keep-alive requests/s, 1 connection, 64 B bodies" ka1 per_s ratio 50 /s
has ka8 && row "keep-alive requests/s, 8 connections, 64 B" ka8 per_s ratio 50 /s
has ka32 && row "keep-alive requests/s, 32 connections, 64 B" ka32 per_s ratio 50 /s
has big8 && row "keep-alive requests/s, 8 connections, 16 KiB bodies" big8 per_s ratio 50 /s
has ka1 && row "request latency p50, 1 connection, sequential" ka1 p50_us added 1000 us
has ka1 && row "request latency p99, 1 connection, sequential" ka1 p99_us added - us
has ka8 && row "request latency p50, 8 connections" ka8 p50_us added - us
has new && row "new connections/s, 1 request each (handshakes), 4 clients" new per_s ratio - /s
has new && row "new connection + 1 request, p50 time" new p50_us added - us
has ka8 && cpurow "CPU per 1000 requests, 8 connections (client + far end + pxtool)" ka8
has big8 && cpurow "CPU per 1000 requests, 8 connections, 16 KiB" big8
has new && cpurow "CPU per 1000 new connections" new
echo
if [ -n "$CHECKS" ]; then
	echo "Checks that failed:$CHECKS"
	exit 2
fi
echo "Checks passed: the far end answered exactly the $srv_reqs requests the clients" \
    "counted; all $srv_auth intercepted ones carried the injected Authorization" \
    "(the guest's placeholder replaced), the $srv_other end-to-end ones the guest's own;" \
    "no request event in the audit (nothing denied); $(wc -l <"$T/aud_i") intercepted" \
    "close events whose request counts equal the far end's per connection; nothing blocked."
exit $MISSED
