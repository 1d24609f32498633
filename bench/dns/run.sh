#!/bin/sh
# run.sh - the DNS view's speed benchmark (issue 4, "Speed"), in the closed
# test universe (tests/net/lib/universe.sub, docs/testing.md). Needs root.
#
# In one universe, one run:
#   upstream  `bench_dns upstream` in NAME-wan on 192.0.2.54:53, a stub
#             that answers every A query at once, TTL 60 (the universe's
#             dnsmasq logs every query and would be what is measured);
#   runner    `bench_dns serve` in NAME-host (nsenter --net, as
#             tests/net/dns_view.sh does): a gateway with 4 sandbox
#             namespaces and the DNS view forwarding to the stub, every
#             sandbox under an allow list of 40 rules plus a catch-all
#             deny, audit events into the SQLite store (as the daemon);
#   direct    the baseline: the same client asking the stub directly from
#             NAME-host, where the view's own upstream queries leave;
#   view      the client in the sandboxes, asking their gateway address.
# The view has an answer cache (src/dns/acache.c: a question asked again
# within its answer's TTL is answered from the kept answer), so what a view
# query costs depends on the name. Each view series uses names that make it
# what it says, and the counters prove it:
#   fwd       forwarded: the answer cache on (the default, 128 KiB), every
#             name asked for the first time (a range of its own per run):
#             what a miss costs, the keeping of its answer included; the
#             view must count no cached answer in these runs;
#   cached    answered from the answer cache: NAMES names asked once on
#             every sandbox (`bench_dns warm`, not measured) right before
#             each run, then the load over them; the stub must see (almost)
#             nothing, the view count at least the answers as cached;
#   nx        blocked names the view answers itself (NXDOMAIN): nothing may
#             reach the stub;
#   null      fwd again with the audit events dropped instead of stored
#             (what the store costs), on a second runner;
#   off       forwarded with the answer cache off (serve -C 0), the names
#             cycling over NAMES: the workload of the results before the
#             cache, on a third runner.
# Latency, one query at a time, paths interleaved query by query in one
# process (client at SCHED_FIFO 1): direct, fwd and cached (each in a
# sandbox of its own); on the third runner direct and off. Throughput with
# INFLIGHT queries in flight: direct, fwd and cached runs in turn, the
# order rotating round by round; direct and view alternating for nx, null
# and off. Every run is checked against the stub's own count and the view's
# counters: forwarded = what reached the stub, queries = forwarded + cached
# + blocked, no SERVFAIL. Prints a markdown table; exits 0 if the targets
# are met (added latency <= 100 us at the median, forwarded and cached;
# >= 20,000 queries/s forwarded to the fast stub and answered from the
# cache), 1 if one is not, 2 on an error.
#
# Environment:
#   ISORUN_BUILD	library build used by `make` here (build/rel)
#   BENCH_REPS		rounds per throughput series (7)
#   BENCH_SECS		seconds per throughput run (1)
#   BENCH_INFLIGHT	queries in flight in throughput runs (64)
#   BENCH_NAMES		distinct names the cached and off runs cycle over
#			(1000; every one resolves to 192.0.2.10; 1,000 kept
#			answers take ~124 kB of the 128 KiB per sandbox:
#			many more would not stay cached)
#   BENCH_LAT_REPS	rounds of the latency series (5)
#   BENCH_LAT_N		queries per path and latency round (2000)
#   BENCH_LAT_NAMES	names the cached latency path cycles over (500)
#   BENCH_ANSWERS_MAX	the answer cache's bytes per sandbox on the first two
#			runners (serve -C; unset: the view's default)
#   BENCH_OFF		0: no third runner (no cache-off series)
#   BENCH_RUNNER_RT	1: the runner at SCHED_FIFO 1 (what the view does when
#			it gets a CPU whenever it wants one)
#   BENCH_PERF		a folder: perf stat, perf trace -s and perf record -g
#			of the runner during extra nx, fwd and cached runs
#   BENCH_OUT		a file to append the raw result lines to
#   BENCH_NO_BUILD	1: do not run make first
#   BENCH_TIMEOUT	seconds before the whole run is abandoned (300)
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
LATNAMES=${BENCH_LAT_NAMES:-500}
OFF=${BENCH_OFF:-1}
AMAX=''
[ -n "${BENCH_ANSWERS_MAX:-}" ] && AMAX="-C $BENCH_ANSWERS_MAX"
NSB=4
UP=192.0.2.54
RUNNER_RT=''
[ "${BENCH_RUNNER_RT:-0}" = 1 ] && RUNNER_RT='chrt -f 1'
# Name numbers: from 0 the cached and off names; from LATBASE the latency
# rounds' fresh ones (100,000 a round); from FRESH the fwd and null runs'
# (1,000,000 a run).
LATBASE=2000000
FRESH=10000000

if [ "$(id -u)" != 0 ]; then
	echo "bench/dns: needs root (network namespaces); skipped" >&2
	exit 0
fi
[ "$LATN" -lt 99000 ] || { echo "bench/dns: BENCH_LAT_N must be < 99000" >&2; exit 2; }
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
	sleep "${BENCH_TIMEOUT:-300}" &
	s=$!
	wait $s && echo "bench/dns: timed out" >&2 && kill -TERM $$
) &
DOGPID=$!

universe_up "$U" || fail "universe_up failed"
universe_wan_addr "$U" $UP || fail "universe_wan_addr $UP"

nsenter --net=/run/netns/"$U-wan" "$BD" upstream $UP >"$T/up.out" 2>&1 &
UPPID=$!
universe_wait_file "$T/up.out" '^ready' 5 || fail "upstream: $(cat "$T/up.out")"

# serve SINK [ARGS...]: (re)starts the runner with that audit sink and
# serve's ARGS; sets VIEW (every sandbox), FIRST, SECOND, POLICY, ANSWERS
serve() {
	_sink=$1
	shift
	if [ -n "$SVPID" ]; then
		echo quit >&3
		exec 3>&-
		wait "$SVPID"
		SVPID=''
	fi
	rm -f "$T/in" "$T/sv.out" "$T/sv.err" "$T"/audit.db*
	mkfifo "$T/in"
	$RUNNER_RT nsenter --net=/run/netns/"$U-host" "$BD" serve -a "$_sink" -D "$T/audit.db" \
	    -n $NSB -u $UP "$@" "$R" <"$T/in" >"$T/sv.out" 2>"$T/sv.err" &
	SVPID=$!
	exec 3>"$T/in"
	universe_wait_file "$T/sv.out" '^(ready|error)' 10 &&
	    grep -q '^ready' "$T/sv.out" || fail "serve: $(cat "$T/sv.out" "$T/sv.err")"
	VIEW='' FIRST='' SECOND=''
	while read -r _ _ ns gw; do
		VIEW="$VIEW $ns,$gw"
		if [ -z "$FIRST" ]; then FIRST="$ns,$gw"
		elif [ -z "$SECOND" ]; then SECOND="$ns,$gw"; fi
	done <<EOF
$(grep '^sandbox ' "$T/sv.out")
EOF
	[ -n "$SECOND" ] || fail "serve: fewer than 2 sandboxes"
	POLICY=$(sed -n 's/^policy //p' "$T/sv.out")
	ANSWERS=$(sed -n 's/^answers_max=//p' "$T/sv.out")
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
	[ -n "$STATS" ] || fail "the runner gave no stats"
}
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
# delta FIELD: FIELD of STATS minus FIELD of S0
delta() { echo $(($(field "$STATS" "$1") - $(field "$S0" "$1"))); }
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
# the runner's counters; appends its line to the raw results. Labels:
# direct*, view.nx*, view.cached*, and the forwarded ones (view.fwd*,
# view.null*, view.off*).
run() {
	_l=$1
	shift
	c0=$(count); stats; S0=$STATS
	th0=$(threads)
	out=$("$BD" load -t "$SECS" -c "$INFLIGHT" -N "$NAMES" "$@") || fail "load $_l: $out"
	th1=$(threads)
	c1=$(count); stats
	ans=$(field "$out" answered) lost=$(field "$out" lost) bad=$(field "$out" bad)
	up=$((c1 - c0 - 1))	# the second count query counts itself
	qs=$(delta queries) fwd=$(delta forwarded) cch=$(delta cached)
	blk=$(delta blocked) sf=$(delta servfail)
	raw "$_l $out upstream=$up queries=$qs forwarded=$fwd cached=$cch blocked=$blk" \
	    "servfail=$sf $(cpu "$th0" "$th1")"
	check "$_l: no wrong answers" '[ "$bad" = 0 ]'
	case $_l in
	direct*)
		check "$_l: the stub answered at least what the client counted ($up >= $ans)" \
		    '[ "$up" -ge "$ans" ] && [ "$up" -le $((ans + lost + INFLIGHT)) ]'
		check "$_l: the view saw nothing ($qs)" '[ "$qs" = 0 ]'
		return ;;
	esac
	check "$_l: queries = forwarded + cached + blocked, no SERVFAIL ($qs = $fwd + $cch + $blk; $sf)" \
	    '[ "$qs" = $((fwd + cch + blk)) ] && [ "$sf" = 0 ]'
	check "$_l: what the view forwarded reached the stub ($fwd = $up)" '[ "$fwd" = "$up" ]'
	case $_l in
	view.nx*)
		check "$_l: nothing reached the stub ($up), nothing cached ($cch)" \
		    '[ "$up" = 0 ] && [ "$cch" = 0 ]'
		check "$_l: the view blocked what was answered ($blk >= $ans)" \
		    '[ "$blk" -ge "$ans" ]' ;;
	view.cached*)
		check "$_l: the view answered from its cache what was answered ($cch >= $ans)" \
		    '[ "$cch" -ge "$ans" ] && [ "$blk" = 0 ]'
		check "$_l: (almost) nothing reached the stub ($up <= 1% of $ans)" \
		    '[ $((up * 100)) -le "$ans" ]' ;;
	*)
		check "$_l: the stub answered what was answered ($up >= $ans), nothing cached ($cch)" \
		    '[ "$up" -ge "$ans" ] && [ "$cch" = 0 ] && [ "$blk" = 0 ]' ;;
	esac
}
# fwd LABEL: a run of names never asked before (the view must forward all)
fwd() {
	run "$1" -N 1000000 -o "$FRESH" $VIEW
	FRESH=$((FRESH + 1000000))
}
# cached LABEL: the names asked once on every sandbox, then a run of them
cached() {
	w=$("$BD" warm -N "$NAMES" $VIEW) || fail "warm: $w"
	check "$1: warm: every name answered ($w)" '[ "$(field "$w" lost)" = 0 ]'
	run "$1" $VIEW
}
# lat ROUND ARGS...: one latency round; its lines into the raw results
lat() {
	_r=$1
	shift
	out=$("$BD" lat -R -n "$LATN" "$@") || fail "lat: $out"
	echo "$out" | while read -r line; do raw "$line round=$_r"; done
}

serve store $AMAX
[ "$ANSWERS" -gt 0 ] || fail "the answer cache is off (answers_max=$ANSWERS)"
# Sanity: both paths answer, and the view's answer is the stub's.
"$BD" lat -n 5 direct="$U-host,$UP" view="$FIRST" >"$T/sanity" 2>&1 ||
	fail "sanity: $(cat "$T/sanity")"
grep -q 'lost=0' "$T/sanity" && ! grep -q 'lost=[1-9]' "$T/sanity" ||
	fail "sanity: $(cat "$T/sanity")"

# ---- latency ----
r=0
while [ $r -lt "$LATREPS" ]; do
	# fwd in FIRST, fresh names; cached in SECOND, LATNAMES names warmed
	w=$("$BD" warm -N "$LATNAMES" "$SECOND") || fail "warm: $w"
	check "lat round $r: warm: every name answered ($w)" '[ "$(field "$w" lost)" = 0 ]'
	stats; S0=$STATS
	lat $r -o $((LATBASE + r * 100000)) -c cached -N "$LATNAMES" \
	    direct="$U-host,$UP" fwd="$FIRST" cached="$SECOND"
	stats
	# each path is first asked 20 fresh names, not measured
	check "lat round $r: cached = the cached path's queries ($(delta cached) = $LATN)" \
	    '[ "$(delta cached)" = "$LATN" ]'
	check "lat round $r: forwarded = the fwd path's queries + 40 ($(delta forwarded) = $((LATN + 40)))" \
	    '[ "$(delta forwarded)" = $((LATN + 40)) ]'
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
	for kind in nx fwd cached; do
		for tool in stat trace; do
			if [ $tool = stat ]; then
				perf stat -e task-clock,context-switches,raw_syscalls:sys_enter \
				    -p "$SVPID" -o "$BENCH_PERF/stat.$kind" &
			else
				perf trace -s -p "$SVPID" -o "$BENCH_PERF/trace.$kind" &
			fi
			PERFPID=$!
			sleep 0.3
			case $kind in
			nx) run view.nx.$tool -x $VIEW ;;
			*) $kind view.$kind.$tool ;;
			esac
			kill -INT "$PERFPID"; wait "$PERFPID"; PERFPID=''
		done
	done
	for kind in fwd cached; do
		perf record -q -g -F 999 -o "$BENCH_PERF/perf.$kind.data" -p "$SVPID" \
		    >"$BENCH_PERF/perf.$kind.log" 2>&1 &
		PERFPID=$!
		sleep 0.3
		$kind view.$kind.perf
		kill -INT "$PERFPID"; wait "$PERFPID"; PERFPID=''
	done
	note "perf: perf report -i $BENCH_PERF/perf.{fwd,cached}.data --no-children; $BENCH_PERF/stat.*"
fi
# direct, fwd and cached in turn, the order rotating round by round
_r=0
while [ $_r -lt "$REPS" ]; do
	for k in 0 1 2; do
		case $(((_r + k) % 3)) in
		0) run direct.fwd $DIRECT ;;
		1) fwd view.fwd ;;
		2) cached view.cached ;;
		esac
	done
	_r=$((_r + 1))
done
series nx -x $VIEW
stats; raw "store $STATS"

serve null $AMAX
_r=0
while [ $_r -lt "$REPS" ]; do
	if [ $((_r % 2)) = 0 ]; then
		run direct.null $DIRECT; fwd view.null
	else
		fwd view.null; run direct.null $DIRECT
	fi
	_r=$((_r + 1))
done

if [ "$OFF" != 0 ]; then
	serve store -C 0
	[ "$ANSWERS" = 0 ] || fail "serve -C 0: answers_max=$ANSWERS"
	r=0
	while [ $r -lt "$LATREPS" ]; do
		lat $r -o $((LATBASE + r * 100000)) direct.off="$U-host,$UP" off="$FIRST"
		r=$((r + 1))
	done
	series off $VIEW
fi

# ---- report ----
# col SERIES FIELD: the per-run values of FIELD, one a line
col() { grep "^$1 " "$T/raw" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
# lcol LABEL FIELD
lcol() { grep "^lat $1 " "$T/raw" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
range() { sort -n | awk '{ v[NR] = $1 } END { printf "%s to %s", v[1], v[NR] }'; }
# per-round differences of the latency field F (view V - direct D): D V F
ldiff() { paste -d' ' "$T/l.$1.$3" "$T/l.$2.$3" | awk '{ printf "%.1f\n", $2 - $1 }'; }
sign() { awk -v v="$1" 'BEGIN { printf "%+.1f", v }'; }
LABELS='direct fwd cached'
[ "$OFF" != 0 ] && LABELS="$LABELS direct.off off"
for f in p50_us p90_us p99_us max_us; do
	for l in $LABELS; do lcol $l $f >"$T/l.$l.$f"; done
done
MISSED=0
echo
echo "DNS view benchmark, $(date -u '+%Y-%m-%d %H:%M') UTC, $(nproc) CPUs, kernel $(uname -r);" \
    "latency: median of $LATREPS rounds of $LATN queries per path, interleaved, client at" \
    "SCHED_FIFO 1 (range over rounds in brackets); throughput: median of $REPS runs of ${SECS} s" \
    "with $INFLIGHT queries in flight (range). Upstream: a stub that answers at once, TTL 60." \
    "Policy per sandbox: $POLICY (a catch-all deny among the deny rules). Answer cache:" \
    "${AMAX:-default} bytes per sandbox; fwd = every name new, cached = $NAMES names" \
    "($LATNAMES for latency) asked once before, off = the cache off (-C 0), $NAMES names."
echo
echo "| metric | direct to the upstream | through the view | view - direct / view : direct | target | met |"
echo "|---|---:|---:|---:|---|---|"
# latrows DIRECT VIEW WHAT JUDGED
latrows() {
	for f in p50_us p90_us p99_us max_us; do
		d=$(median <"$T/l.$1.$f") v=$(median <"$T/l.$2.$f")
		a=$(ldiff "$1" "$2" $f | median)
		ar=$(ldiff "$1" "$2" $f | sort -n | awk '{ v[NR] = $1 } END { printf "%+.1f to %+.1f", v[1], v[NR] }')
		tgt='(info)' met='-'
		if [ $f = p50_us ] && [ "$4" = 1 ]; then
			tgt='<= +100 us'
			if awk -v a="$a" 'BEGIN { exit !(a <= 100) }'; then met=yes; else met='**no**'; MISSED=1; fi
		fi
		echo "| latency ${f%_us}, one query at a time, $3 | $d us | $v us | $(sign "$a") us ($ar) | $tgt | $met |"
	done
}
latrows direct fwd "forwarded (every name new)" 1
latrows direct cached "from the answer cache" 1
[ "$OFF" != 0 ] && latrows direct.off off "forwarded, cache off" 1
tput() {	# VIEW-SERIES DIRECT-SERIES LABEL TARGET
	d=$(col "$2" qps | median) v=$(col "$1" qps | median)
	vr=$(col "$1" qps | range) dr=$(col "$2" qps | range)
	vp=$(col "$1" p50_us | median) dp=$(col "$2" p50_us | median)
	rat=$(awk -v a="$v" -v b="$d" 'BEGIN { printf "%.2f", b ? a / b : 0 }')
	met='-' tgt='(info)'
	if [ -n "$4" ]; then
		tgt=">= $4 /s"
		if [ "$v" -ge "$4" ]; then met=yes; else met='**no**'; MISSED=1; fi
	fi
	echo "| $3 | $d /s ($dr), p50 $dp us | $v /s ($vr), p50 $vp us | $rat | $tgt | $met |"
}
tput view.fwd direct.fwd "queries/s forwarded (every name new), audit into the store" 20000
tput view.cached direct.fwd "queries/s answered from the answer cache, audit into the store" 20000
tput view.nx direct.nx "queries/s answered by the view (blocked names, NXDOMAIN)" ''
tput view.null direct.null "queries/s forwarded (every name new), audit events dropped" ''
[ "$OFF" != 0 ] && tput view.off direct.off "queries/s forwarded, cache off, audit into the store" ''
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
SER='fwd:direct.fwd cached:direct.fwd nx:direct.nx'
[ "$OFF" != 0 ] && SER="$SER off:direct.off"
for sd in $SER; do
	s=${sd%%:*} ds=${sd#*:}
	case $s in
	fwd) what='forwarded' ;;
	cached) what='from the answer cache' ;;
	nx) what='answered by the view (blocked)' ;;
	off) what='forwarded, cache off' ;;
	esac
	d=$(cpuq $ds client_cpu_s stub_cpu_s)
	v=$(cpuq view.$s client_cpu_s stub_cpu_s runner_cpu_s)
	vt=$(cpuq view.$s view_thread_cpu_s) rt=$(cpuq view.$s runner_cpu_s)
	echo "| CPU per query $what: client + stub (+ runner) | $d us | $v us | $(awk -v a="$v" -v b="$d" 'BEGIN { printf "%.2f", a / b }') | (info) | - |"
	echo "| CPU per query $what: the runner (view thread + audit writer) | - | $rt us | - | (info) | - |"
	echo "| CPU per query $what: the view's thread; queries/s it would carry on a CPU of its own | - | $vt us; $(awk -v a="$vt" 'BEGIN { printf "%.0f", 1e6 / a }') /s | - | (info) | - |"
done
echo
echo "Stub queries in the cached runs (per run): $(col view.cached upstream | tr '\n' ' ')"
echo "Runner counters at the end of the store series: " \
    "$(grep '^store ' "$T/raw" | tr ' ' '\n' | grep -E '^(queries|forwarded|cached|blocked|servfail|dropped|events|aggregated|written|audit_dropped)=' | tr '\n' ' ')"
echo
if [ -n "$CHECKS" ]; then
	echo "Checks that failed:$CHECKS"
	exit 2
fi
echo "Checks passed: every answer right (id, question, address or NXDOMAIN); in every view run" \
    "queries = forwarded + cached + blocked and no SERVFAIL; every query the view forwarded" \
    "reached the stub (its own count); fwd runs: nothing answered from the cache; cached runs:" \
    "at least every answer counted cached, at most 1% of them reached the stub; nothing reached" \
    "it for blocked names; latency: the cached path's queries all cached, the fwd path's all" \
    "forwarded; the direct runs did not touch the view."
exit $MISSED
