#!/bin/sh
# run.sh - the DNS view's speed benchmark (issue 4, "Speed"), in the closed
# test universe (tests/net/lib/universe.sub, docs/testing.md). Needs root.
#
# In one universe, one run:
#   upstream  `bench_dns upstream` in NAME-wan on 192.0.2.54:53, a stub
#             that answers every A query at once (the universe's dnsmasq
#             logs every query and would be what is measured);
#   runner    `bench_dns serve` in NAME-host (nsenter --net, as
#             tests/net/dns_view.sh does): a gateway with 4 sandbox
#             namespaces and the DNS view forwarding to the stub, every
#             sandbox under an allow list of 40 rules plus a catch-all
#             deny, audit events into the SQLite store (as the daemon);
#   direct    the baseline: the same client asking the stub directly from
#             NAME-host, where the view's own upstream queries leave;
#   view      the client in the sandboxes, asking their gateway address.
# Series: latency, one query at a time, direct and view interleaved query
# by query (client at SCHED_FIFO 1); throughput with INFLIGHT queries in
# flight, direct and view runs alternating round by round, for names the
# view forwards, for names it answers itself (NXDOMAIN: nothing may reach
# the stub, checked), and forwarded again with the audit events dropped
# instead of stored (what the store costs). Every run is checked against
# the stub's own count and the view's counters. Prints a markdown table;
# exits 0 if the targets are met (added latency <= 100 us at the median,
# >= 20,000 forwarded queries/s), 1 if one is not, 2 on an error.
#
# Environment:
#   ISORUN_BUILD	library build used by `make` here (build/rel)
#   BENCH_REPS		rounds per throughput series (7)
#   BENCH_SECS		seconds per throughput run (1)
#   BENCH_INFLIGHT	queries in flight in throughput runs (64)
#   BENCH_NAMES		distinct names a throughput run cycles over (1000: a
#			guest asks the same names again; every one resolves
#			to 192.0.2.10)
#   BENCH_LAT_REPS	rounds of the latency series (5)
#   BENCH_LAT_N		queries per path and latency round (2000)
#   BENCH_RUNNER_RT	1: the runner at SCHED_FIFO 1 (what the view does when
#			it gets a CPU whenever it wants one)
#   BENCH_PERF		a folder: perf record -g of the runner process during
#			the first forwarded view run
#   BENCH_OUT		a file to append the raw result lines to
#   BENCH_NO_BUILD	1: do not run make first
#   BENCH_TIMEOUT	seconds before the whole run is abandoned (170)
set -u
cd "$(dirname "$0")/../.." || exit 2
B=${ISORUN_BUILD:-build/rel}
BD=build/bench/dns/bench_dns
REPS=${BENCH_REPS:-7}
SECS=${BENCH_SECS:-1}
INFLIGHT=${BENCH_INFLIGHT:-64}
NAMES=${BENCH_NAMES:-1000}
LATREPS=${BENCH_LAT_REPS:-5}
LATN=${BENCH_LAT_N:-2000}
NSB=4
UP=192.0.2.54
RUNNER_RT=''
[ "${BENCH_RUNNER_RT:-0}" = 1 ] && RUNNER_RT='chrt -f 1'

if [ "$(id -u)" != 0 ]; then
	echo "bench/dns: needs root (network namespaces); skipped" >&2
	exit 0
fi
if [ -z "${BENCH_NO_BUILD:-}" ]; then
	make -s -j2 SAN=0 BUILD="$B" "$BD" >&2 || {
		echo "bench/dns: build failed" >&2; exit 2; }
fi
[ -x "$BD" ] || { echo "bench/dns: $BD is not built" >&2; exit 2; }

. tests/net/lib/universe.sub
U=irt-$$
R=$U-d
T=$(mktemp -d)
UPPID=''
SVPID=''
PERFPID=''
DOGPID=''

cleanup() {
	exec 3>&- 2>/dev/null
	[ -n "$DOGPID" ] && kill "$DOGPID" 2>/dev/null
	[ -n "$PERFPID" ] && { kill -INT "$PERFPID" 2>/dev/null; wait "$PERFPID" 2>/dev/null; }
	[ -n "$SVPID" ] && { kill "$SVPID" 2>/dev/null; wait "$SVPID" 2>/dev/null; }
	[ -n "$UPPID" ] && { kill "$UPPID" 2>/dev/null; wait "$UPPID" 2>/dev/null; }
	"$BD" purge "$R" >/dev/null 2>&1
	universe_down "$U"
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 2' INT TERM HUP

fail() {
	echo "bench/dns: $*" >&2
	if [ -n "$SVPID" ] && ! kill -0 "$SVPID" 2>/dev/null; then
		echo "bench/dns: the runner died; its last words:" >&2
		tail -n 5 "$T/sv.out" "$T/sv.err" >&2
	fi
	exit 2
}
note() { echo "# $*" >&2; }

(
	trap 'kill $s 2>/dev/null; exit 0' TERM
	sleep "${BENCH_TIMEOUT:-170}" &
	s=$!
	wait $s && echo "bench/dns: timed out" >&2 && kill -TERM $$
) &
DOGPID=$!

universe_up "$U" || fail "universe_up failed"
universe_wan_addr "$U" $UP || fail "universe_wan_addr $UP"

nsenter --net=/run/netns/"$U-wan" "$BD" upstream $UP >"$T/up.out" 2>&1 &
UPPID=$!
universe_wait_file "$T/up.out" '^ready' 5 || fail "upstream: $(cat "$T/up.out")"

# serve SINK: (re)starts the runner with that audit sink; sets NS_i, GW_i
serve() {
	if [ -n "$SVPID" ]; then
		echo quit >&3
		exec 3>&-
		wait "$SVPID"
		SVPID=''
	fi
	rm -f "$T/in" "$T/sv.out" "$T/sv.err" "$T"/audit.db*
	mkfifo "$T/in"
	$RUNNER_RT nsenter --net=/run/netns/"$U-host" "$BD" serve -a "$1" -D "$T/audit.db" \
	    -n $NSB -u $UP "$R" <"$T/in" >"$T/sv.out" 2>"$T/sv.err" &
	SVPID=$!
	exec 3>"$T/in"
	universe_wait_file "$T/sv.out" '^(ready|error)' 10 &&
	    grep -q '^ready' "$T/sv.out" || fail "serve: $(cat "$T/sv.out" "$T/sv.err")"
	VIEW='' FIRST=''
	while read -r _ _ ns gw; do
		VIEW="$VIEW $ns,$gw"
		[ -z "$FIRST" ] && FIRST="$ns,$gw"
	done <<EOF
$(grep '^sandbox ' "$T/sv.out")
EOF
	[ -n "$FIRST" ] || fail "serve: no sandbox"
	POLICY=$(sed -n 's/^policy //p' "$T/sv.out")
	nstats=0
}
# stats: the runner's counters into STATS
stats() {
	echo stats >&3
	nstats=$((nstats + 1))
	_i=0
	while [ "$(grep -c '^stats ' "$T/sv.out")" -lt $nstats ] && [ $_i -lt 100 ]; do
		sleep 0.02; _i=$((_i + 1))
	done
	STATS=$(grep '^stats ' "$T/sv.out" | sed -n "${nstats}p")
}
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
# threads: "KEY:NS" CPU time of the runner's threads (r<tid>), the stub
# (up) and the softirq threads (ks<pid>), from schedstat (ns)
KSOFT=$(pgrep -x 'ksoftirqd/[0-9]*' | tr '\n' ' ')
threads() {
	for f in /proc/$SVPID/task/*/schedstat; do
		t=${f%/schedstat}; echo "r${t##*/}:$(cut -d' ' -f1 "$f")"
	done 2>/dev/null
	echo "up:$(cut -d' ' -f1 /proc/$UPPID/schedstat)"
	for k in $KSOFT; do echo "ks$k:$(cut -d' ' -f1 /proc/$k/schedstat)"; done
}
# cpu BEFORE AFTER: CPU seconds used between, by the runner, its busiest
# thread (the view's), the stub and the softirq threads
cpu() {
	printf '%s\n' "$1" >"$T/th0"
	printf '%s\n' "$2" | awk -F: '
	    NR == FNR { b[$1] = $2; next }
	    { d = ($2 - b[$1]) / 1e9 }
	    /^r/ { r += d; if (d > m) m = d }
	    /^up/ { u += d }
	    /^ks/ { k += d }
	    END { printf "runner_cpu_s=%.3f view_thread_cpu_s=%.3f stub_cpu_s=%.3f softirqd_cpu_s=%.3f", r, m, u, k }' "$T/th0" -
}
raw() { echo "$*" >>"$T/raw"; [ -n "${BENCH_OUT:-}" ] && echo "$*" >>"$BENCH_OUT"; return 0; }
count() { "$BD" count "$U-host,$UP" || fail "the upstream does not answer"; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "" }'; }
CHECKS=''
check() { eval "$2" || { CHECKS="$CHECKS; $1"; note "check failed: $1"; }; }

DIRECT=''
i=0
while [ $i -lt $NSB ]; do DIRECT="$DIRECT $U-host,$UP"; i=$((i + 1)); done

# run LABEL ARGS...: one load run; checks it against the stub's count and
# the runner's counters; appends its line to the raw results
run() {
	_l=$1
	shift
	c0=$(count); stats; s0=$STATS
	th0=$(threads)
	out=$("$BD" load -t "$SECS" -c "$INFLIGHT" -N "$NAMES" "$@") || fail "load $_l: $out"
	th1=$(threads)
	c1=$(count); stats; s1=$STATS
	ans=$(field "$out" answered) lost=$(field "$out" lost) bad=$(field "$out" bad)
	up=$((c1 - c0 - 1))	# the second count query counts itself
	fwd=$(($(field "$s1" forwarded) - $(field "$s0" forwarded)))
	blk=$(($(field "$s1" blocked) - $(field "$s0" blocked)))
	raw "$_l $out upstream=$up forwarded=$fwd blocked=$blk $(cpu "$th0" "$th1")"
	check "$_l: no wrong answers" '[ "$bad" = 0 ]'
	case $_l in
	direct*)
		check "$_l: the stub answered at least what the client counted ($up >= $ans)" \
		    '[ "$up" -ge "$ans" ] && [ "$up" -le $((ans + lost + INFLIGHT)) ]'
		check "$_l: the view saw nothing" '[ "$fwd" = 0 ] && [ "$blk" = 0 ]' ;;
	view.nx*)
		check "$_l: nothing reached the stub ($up)" '[ "$up" = 0 ] && [ "$fwd" = 0 ]'
		check "$_l: the view blocked what was answered ($blk >= $ans)" \
		    '[ "$blk" -ge "$ans" ]' ;;
	view*)
		check "$_l: what the view forwarded reached the stub ($fwd = $up)" \
		    '[ "$fwd" = "$up" ] && [ "$up" -ge "$ans" ]' ;;
	esac
}

serve store
# Sanity: both paths answer, and the view's answer is the stub's.
"$BD" lat -n 5 direct="$U-host,$UP" view="$FIRST" >"$T/sanity" 2>&1 ||
	fail "sanity: $(cat "$T/sanity")"
grep -q 'lost=0' "$T/sanity" && ! grep -q 'lost=[1-9]' "$T/sanity" ||
	fail "sanity: $(cat "$T/sanity")"

# ---- latency ----
r=0
while [ $r -lt "$LATREPS" ]; do
	out=$("$BD" lat -R -n "$LATN" direct="$U-host,$UP" view="$FIRST") ||
		fail "lat: $out"
	echo "$out" | while read -r line; do raw "$line round=$r"; done
	r=$((r + 1))
done

# ---- throughput ----
series() {	# NAME VIEW-ARGS...
	_s=$1
	shift
	_r=0
	while [ $_r -lt "$REPS" ]; do
		if [ $((_r % 2)) = 0 ]; then
			run "direct.$_s" $DIRECT
			run "view.$_s" "$@"
		else
			run "view.$_s" "$@"
			run "direct.$_s" $DIRECT
		fi
		_r=$((_r + 1))
	done
}
if [ -n "${BENCH_PERF:-}" ]; then
	mkdir -p "$BENCH_PERF"
	for kind in nx fwd; do
		x=''
		[ $kind = nx ] && x=-x
		perf stat -e task-clock,context-switches,raw_syscalls:sys_enter \
		    -p "$SVPID" -o "$BENCH_PERF/stat.$kind" &
		PERFPID=$!
		sleep 0.3
		run view.stat.$kind $x $VIEW
		kill -INT "$PERFPID"; wait "$PERFPID"; PERFPID=''
		perf trace -s -p "$SVPID" -o "$BENCH_PERF/trace.$kind" &
		PERFPID=$!
		sleep 0.3
		run view.trace.$kind $x $VIEW
		kill -INT "$PERFPID"; wait "$PERFPID"; PERFPID=''
	done
	perf record -q -g -F 999 -o "$BENCH_PERF/perf.data" -p "$SVPID" \
	    >"$BENCH_PERF/perf.log" 2>&1 &
	PERFPID=$!
	sleep 0.3
	run view.perf $VIEW
	kill -INT "$PERFPID"; wait "$PERFPID"; PERFPID=''
	note "perf: perf report -i $BENCH_PERF/perf.data --no-children; $BENCH_PERF/stat.*"
fi
series fwd $VIEW
series nx -x $VIEW
stats; raw "store $STATS"
serve null
series null $VIEW

# ---- report ----
# col SERIES FIELD: the per-run values of FIELD, one a line
col() { grep "^$1 " "$T/raw" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
# lcol LABEL FIELD
lcol() { grep "^lat $1 " "$T/raw" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
range() { sort -n | awk '{ v[NR] = $1 } END { printf "%s to %s", v[1], v[NR] }'; }
# per-round differences of the latency field F (view - direct)
ldiff() { paste -d' ' "$T/l.direct.$1" "$T/l.view.$1" | awk '{ printf "%.1f\n", $2 - $1 }'; }
sign() { awk -v v="$1" 'BEGIN { printf "%+.1f", v }'; }
for f in p50_us p90_us p99_us max_us; do
	lcol direct $f >"$T/l.direct.$f"
	lcol view $f >"$T/l.view.$f"
done
MISSED=0
echo
echo "DNS view benchmark, $(date -u '+%Y-%m-%d %H:%M') UTC, $(nproc) CPUs, kernel $(uname -r);" \
    "latency: median of $LATREPS rounds of $LATN queries per path, interleaved, client at" \
    "SCHED_FIFO 1 (range over rounds in brackets); throughput: median of $REPS runs of ${SECS} s" \
    "with $INFLIGHT queries in flight (range). Upstream: a stub that answers at once." \
    "Policy per sandbox: $POLICY (a catch-all deny among the deny rules)."
echo
echo "| metric | direct to the upstream | through the view | view - direct / view : direct | target | met |"
echo "|---|---:|---:|---:|---|---|"
for f in p50_us p90_us p99_us max_us; do
	d=$(median <"$T/l.direct.$f") v=$(median <"$T/l.view.$f")
	a=$(ldiff $f | median) ar=$(ldiff $f | sort -n | awk '{ v[NR] = $1 } END { printf "%+.1f to %+.1f", v[1], v[NR] }')
	tgt='(info)' met='-'
	if [ $f = p50_us ]; then
		tgt='<= +100 us'
		if awk -v a="$a" 'BEGIN { exit !(a <= 100) }'; then met=yes; else met='**no**'; MISSED=1; fi
	fi
	echo "| latency ${f%_us}, one query at a time | $d us | $v us | $(sign "$a") us ($ar) | $tgt | $met |"
done
tput() {	# SERIES LABEL TARGET
	d=$(col "direct.$1" qps | median) v=$(col "view.$1" qps | median)
	vr=$(col "view.$1" qps | range) dr=$(col "direct.$1" qps | range)
	vp=$(col "view.$1" p50_us | median) dp=$(col "direct.$1" p50_us | median)
	rat=$(awk -v a="$v" -v b="$d" 'BEGIN { printf "%.2f", b ? a / b : 0 }')
	met='-' tgt='(info)'
	if [ -n "$3" ]; then
		tgt=">= $3 /s"
		if [ "$v" -ge "$3" ]; then met=yes; else met='**no**'; MISSED=1; fi
	fi
	echo "| $2 | $d /s ($dr), p50 $dp us | $v /s ($vr), p50 $vp us | $rat | $tgt | $met |"
}
tput fwd "queries/s forwarded, audit into the store" 20000
tput nx "queries/s answered by the view (blocked names, NXDOMAIN)" ''
tput null "queries/s forwarded, audit events dropped" ''
# cpuq SERIES FIELD...: median over runs of the fields' sum, in CPU
# microseconds per answered query
cpuq() {
	_s=$1
	shift
	grep "^$_s " "$T/raw" | awk -v f="$*" '{
	    n = split(f, k, " ")
	    for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
	    t = 0
	    for (j = 1; j <= n; j++) t += v[k[j]]
	    if (v["answered"] > 0) printf "%.1f\n", t * 1e6 / v["answered"] }' | median
}
for s in fwd nx; do
	[ $s = fwd ] && what=forwarded || what='answered by the view'
	d=$(cpuq direct.$s client_cpu_s stub_cpu_s)
	v=$(cpuq view.$s client_cpu_s stub_cpu_s runner_cpu_s)
	vt=$(cpuq view.$s view_thread_cpu_s) rt=$(cpuq view.$s runner_cpu_s)
	echo "| CPU per query $what: client + stub (+ runner) | $d us | $v us | $(awk -v a="$v" -v b="$d" 'BEGIN { printf "%.2f", a / b }') | (info) | - |"
	echo "| CPU per query $what: the runner (view thread + audit writer) | - | $rt us | - | (info) | - |"
	echo "| CPU per query $what: the view's thread; queries/s it would carry on a CPU of its own | - | $vt us; $(awk -v a="$vt" 'BEGIN { printf "%.0f", 1e6 / a }') /s | - | (info) | - |"
done
echo
echo "Runner counters at the end of the store series: $(field "$(grep '^store ' "$T/raw")" forwarded) forwarded," \
    "$(grep '^store ' "$T/raw" | tr ' ' '\n' | grep -E '^(blocked|servfail|dropped|events|aggregated|written|audit_dropped)=' | tr '\n' ' ')"
echo
if [ -n "$CHECKS" ]; then
	echo "Checks that failed:$CHECKS"
	exit 2
fi
echo "Checks passed: every answer right (id, question, address or NXDOMAIN); every query the view" \
    "forwarded reached the stub (its own count), none for blocked names; the direct runs did not touch the view."
exit $MISSED
