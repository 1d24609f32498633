#!/bin/sh
# run.sh - the enforcer's speed benchmark (issue 3, "Speed"), in the closed
# test universe (tests/net/lib/universe.sub, docs/testing.md). Needs root.
#
# In one universe and one run it measures two paths to the same far end,
# `bench_proxy server` in NAME-wan:
#   baseline  a sandbox-like namespace NAME-base with a veth to NAME-host,
#             which forwards (ip_forward=1, no nftables) to wan and back;
#   proxy     the sandboxes of pxtool (gateway + transparent proxy), whose
#             upstream connections leave from NAME-host like the baseline.
# Series: idle connections held (memory), bulk TCP (1 and 4 streams), new
# TLS and plain HTTP connections per second (Connection: close), connect +
# first byte latency. Rounds alternate baseline and proxy runs; a ratio is
# taken per round, then the median over rounds. Every run is checked
# against what the far end counted. Prints a markdown table; exits 0 if
# every target is met, 1 if one is not, 2 on an error.
#
# Environment:
#   ISORUN_BUILD	where pxtool is ($ISORUN_BUILD/tests/pxtool; build/rel)
#   BENCH_REPS		rounds of the bulk and rate series (9)
#   BENCH_SECS		seconds per bulk or rate run (1)
#   BENCH_LAT_REPS	rounds of the latency series (5)
#   BENCH_LAT_N		connections per path and latency round (2000)
#   BENCH_HOLD		idle connections to hold (10000; fewer if pxtool's
#			RLIMIT_NOFILE cannot hold them, said in the output)
#   BENCH_ONLY		series to run (hold bulk1 bulk4 tls http lat)
#   BENCH_RT		1: latency runs at SCHED_FIFO 1 (default), 0: not
#   BENCH_PERF		a folder: perf record -a -g of the first round's runs
#   BENCH_OUT		a file to append the raw result lines to
#   BENCH_NO_BUILD	1: do not run make first
#   BENCH_TIMEOUT	seconds before the whole run is abandoned (900)
#   BENCH_CONN_RATE	the gateway's per-sandbox limit of new connections
#			per second (pxtool -r; 0, the default: none, so that
#			the rate series measure the proxy, not the limit,
#			whose product default is GW_CONN_RATE)
set -u
cd "$(dirname "$0")/../.." || exit 2
B=${ISORUN_BUILD:-build/rel}
PX=$B/tests/pxtool
BP=build/bench/proxy/bench_proxy
REPS=${BENCH_REPS:-9}
SECS=${BENCH_SECS:-1}
LATREPS=${BENCH_LAT_REPS:-5}
LATN=${BENCH_LAT_N:-2000}
HOLDN=${BENCH_HOLD:-10000}
NSB_HOLD=4			# the idle connections are spread over them

if [ "$(id -u)" != 0 ]; then
	echo "bench/proxy: needs root (network namespaces); skipped" >&2
	exit 0
fi
if [ -z "${BENCH_NO_BUILD:-}" ]; then
	make -s -j2 SAN=0 BUILD="$B" "$PX" "$BP" >&2 || {
		echo "bench/proxy: build failed" >&2; exit 2; }
fi
for f in "$PX" "$BP"; do
	[ -x "$f" ] || { echo "bench/proxy: $f is not built" >&2; exit 2; }
done

. tests/net/lib/universe.sub
U=irt-$$
R=$U-px
BASE=$U-base
T=$(mktemp -d)
PXPID=''
SRVPID=''
PERFPID=''
DOGPID=''
# far-end ports (the universe's own servers hold 7, 22, 80, 443, 5001, 8080)
P_SINK=9001 P_ECHO=9002 P_HTTP=9003 P_HTTPS=9004 P_STAT=9009
# the server: allowed by an address rule; the same server at another
# address is allowed only by name (the proxy must peek)
SRV=192.0.2.10
SRVN=192.0.2.12
NAME=api.example.com

cleanup() {
	exec 3>&- 2>/dev/null
	exec 4>&- 2>/dev/null
	[ -n "$DOGPID" ] && kill "$DOGPID" 2>/dev/null
	[ -n "$PERFPID" ] && { kill -INT "$PERFPID" 2>/dev/null; wait "$PERFPID" 2>/dev/null; }
	[ -n "$PXPID" ] && { kill "$PXPID" 2>/dev/null; wait "$PXPID" 2>/dev/null; }
	[ -n "$SRVPID" ] && { kill "$SRVPID" 2>/dev/null; wait "$SRVPID" 2>/dev/null; }
	"$PX" purge "$R" >/dev/null 2>&1
	universe_down "$U"
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 2' INT TERM HUP

fail() {
	echo "bench/proxy: $*" >&2
	if [ -n "$PXPID" ] && ! kill -0 "$PXPID" 2>/dev/null; then
		echo "bench/proxy: pxtool died; its last words:" >&2
		grep -v '^{' "$T/audit" | head -5 >&2
	fi
	exit 2
}
note() { echo "# $*" >&2; }

# A bound on the whole run, whatever hangs.
(
	trap 'kill $s 2>/dev/null; exit 0' TERM
	sleep "${BENCH_TIMEOUT:-900}" &
	s=$!
	wait $s && echo "bench/proxy: timed out" >&2 && kill -TERM $$
) &
DOGPID=$!

# Enough descriptors for 10,000 proxied connections (six each in pxtool).
ulimit -n 262144 2>/dev/null || ulimit -n "$(ulimit -Hn)"

universe_up "$U" || fail "universe_up failed"
CA=$UNIVERSE_CA

# ---- the far end ----
ip netns exec "$U-wan" "$BP" server -t 2 -c "$UNIVERSE_CERT" -k "$UNIVERSE_KEY" \
    sink=$P_SINK echo=$P_ECHO http=$P_HTTP https=$P_HTTPS stat=$P_STAT \
    >"$T/srv.out" 2>&1 &
SRVPID=$!
universe_wait_file "$T/srv.out" '^ready' 5 || fail "server: $(cat "$T/srv.out")"

# ---- the baseline: plain kernel forwarding through NAME-host ----
ip netns add "$BASE" || fail "ip netns add $BASE"
ip link add b0 netns "$U-host" type veth peer name eth0 netns "$BASE" ||
	fail "veth for $BASE"
ip -n "$U-host" addr add 100.127.0.1/30 dev b0 &&
ip -n "$U-host" link set b0 up &&
ip -n "$BASE" addr add 100.127.0.2/30 dev eth0 &&
ip -n "$BASE" link set lo up &&
ip -n "$BASE" link set eth0 up &&
ip -n "$BASE" route add default via 100.127.0.1 &&
ip netns exec "$U-host" sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward' &&
universe_wan_route_back "$U" 100.127.0.0/30 || fail "baseline setup"
[ -z "$(ip netns exec "$U-host" nft list ruleset)" ] ||
	fail "$U-host has nftables rules: the baseline must have none"

# ---- the proxy: pxtool in NAME-host (nsenter: see tests/net/proxy_tcp.sh) ----
mkfifo "$T/in"
nsenter --net=/run/netns/"$U-host" "$PX" run "$R" -r "${BENCH_CONN_RATE:-0}" \
    <"$T/in" >"$T/out" 2>"$T/audit" &
PXPID=$!
exec 3>"$T/in"
nout=0
cmd() {
	echo "$*" >&3
	nout=$((nout + 1))
	_i=0
	while [ "$(grep -vc '^ready' "$T/out" 2>/dev/null)" -lt $nout ] && [ $_i -lt 200 ]; do
		sleep 0.05; _i=$((_i + 1))
	done
	CMD_OUT=$(grep -v '^ready' "$T/out" | sed -n "${nout}p")
}
universe_wait_file "$T/out" '^ready' 10 || fail "pxtool did not start: $(head -3 "$T/out" "$T/audit")"

# A realistic allow-list: the server by address, then 40 rules that do not
# match it (names of registries and APIs, wildcards, CIDRs of both
# families, rules with ports).
OTHER="github.com,*.github.com,api.github.com,*.githubusercontent.com,ghcr.io"
OTHER="$OTHER,pypi.org,files.pythonhosted.org,registry.npmjs.org,*.npmjs.org"
OTHER="$OTHER,crates.io,static.crates.io,index.crates.io,proxy.golang.org"
OTHER="$OTHER,sum.golang.org,deb.debian.org,security.debian.org,*.docker.io"
OTHER="$OTHER,registry-1.docker.io,production.cloudflare.docker.com,quay.io"
OTHER="$OTHER,*.s3.amazonaws.com,api.openai.com,api.anthropic.com,*.ubuntu.com"
OTHER="$OTHER,repo.maven.apache.org,rubygems.org,*.rubygems.org,gitlab.com"
OTHER="$OTHER,203.0.113.64/26,203.0.113.128/25:443,198.51.100.128/25"
OTHER="$OTHER,192.0.2.64/27,192.0.2.200:22,2001:db8:a::/48,2001:db8:b::1"
OTHER="$OTHER,[2001:db8:c::1]:443,dl.google.com,*.gvt1.com"
POL_ADDR="allow=$SRV,$OTHER"
POL_NAME="allow=$NAME,$OTHER"
nrules=$(echo "$OTHER" | tr ',' '\n' | wc -l)

sbns() { echo "$1" | sed -n 's/.* netns=\([^ ]*\) .*/\1/p'; }
cmd add addr "$POL_ADDR"; r=$CMD_OUT NS_ADDR=$(sbns "$CMD_OUT")
[ -n "${NS_ADDR:-}" ] || fail "add addr: $r"
cmd add name "$POL_NAME"; r=$CMD_OUT NS_NAME=$(sbns "$CMD_OUT")
[ -n "${NS_NAME:-}" ] || fail "add name: $r"
cmd dns name $SRVN $NAME; r=$CMD_OUT
[ "$r" = "dns name" ] || fail "dns: $r"
NS_HOLD=''
i=0
while [ $i -lt $NSB_HOLD ]; do
	cmd add hold$i "$POL_ADDR"; r=$CMD_OUT ns=$(sbns "$CMD_OUT")
	[ -n "$ns" ] || fail "add hold$i: $r"
	NS_HOLD="$NS_HOLD $ns"
	i=$((i + 1))
done

in_ns() { _ns=$1; shift; ip netns exec "$_ns" "$@"; }
stat_srv() { in_ns "$U-wan" "$BP" query 127.0.0.1 $P_STAT; }
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
raw() { echo "$*" >>"$T/raw"; [ -n "${BENCH_OUT:-}" ] && echo "$*" >>"$BENCH_OUT"; return 0; }
pxpid_mem() {	# RSS and anonymous memory of pxtool, KiB
	awk '/^VmRSS:/ { r = $2 } /^RssAnon:/ { a = $2 } END { print r, a }' \
	    "/proc/$PXPID/status"
}
HZ=$(getconf CLK_TCK)
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }	# user + system
secs_since() { awk -v a="$2" -v b="$(ticks "$1")" -v hz="$HZ" 'BEGIN { printf "%.2f", (b - a) / hz }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "" }'; }

# Sanity: both paths reach the server, and the proxy decides as expected.
in_ns "$BASE" "$BP" rate $SRV $P_HTTP 1 1 >/dev/null || fail "baseline path does not work"
in_ns "$NS_ADDR" "$BP" rate $SRV $P_HTTP 1 1 >/dev/null || fail "proxy path does not work"
in_ns "$NS_NAME" "$BP" rate $SRVN $P_HTTPS 1 1 -s $NAME -C "$CA" >/dev/null ||
	fail "proxy path by SNI does not work: $(tail -2 "$T/audit")"
grep -q '"name_source":"sni"' "$T/audit" ||
	note "audit shows no SNI-named connection: $(grep -m1 "$SRVN" "$T/audit")"

# Idle connections (first in the list, while pxtool's heap is fresh).
holdpx() {
	# pxtool holds two descriptors per idle relayed connection (its
	# sockets; pipes only while bytes are in flight, from a pool of 64 per
	# loop): fit the count to what the proxy takes under its limit
	# (pc_max_total: the limit less PROXY_FD_RESERVE, 1024, over two)
	# rather than count its refusals of the rest as "blocked"
	lim=$(awk '/^Max open files/ { print $4 }' "/proc/$PXPID/limits")
	fit=$(( (lim - 1024) / 2 / NSB_HOLD * NSB_HOLD ))
	HOLD_WANT=$HOLDN
	if [ "$fit" -lt "$HOLDN" ]; then
		note "pxtool may open $lim descriptors (hard RLIMIT_NOFILE): holding $fit connections, not $HOLDN"
		HOLDN=$fit
	fi
	per=$((HOLDN / NSB_HOLD))
	mkfifo "$T/hold-fifo"
	set -- $(pxpid_mem)
	rss0=$1 anon0=$2
	pids=''
	i=0
	for ns in $NS_HOLD; do
		in_ns "$ns" "$BP" hold $SRV $P_ECHO $per <"$T/hold-fifo" >"$T/hold.out.$i" 2>&1 &
		pids="$pids $!"
		i=$((i + 1))
	done
	exec 4>"$T/hold-fifo"
	i=0
	for ns in $NS_HOLD; do
		universe_wait_file "$T/hold.out.$i" '^held' 60 || fail "hold: $(cat "$T/hold.out.$i")"
		i=$((i + 1))
	done
	sleep 1
	held=$(cat "$T"/hold.out.* | sed -n 's/^held n=\([0-9]*\).*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
	secs=$(cat "$T"/hold.out.* | sed -n 's/.* seconds=\([0-9.]*\).*/\1/p' | sort -n | tail -1)
	srv_open=$(field "$(stat_srv)" echo_open)
	est=$(in_ns "$U-wan" ss -Htn state established "( sport = :$P_ECHO )" | wc -l)
	cmd stats; active=$(field "$CMD_OUT" active)
	set -- $(pxpid_mem)
	rss1=$1 anon1=$2
	fds=$(ls /proc/$PXPID/fd | wc -l)
	exec 4>&-
	for p in $pids; do wait "$p"; done
	rm -f "$T/hold-fifo"
	raw "hold held=$held wanted=$HOLD_WANT nofile=$lim seconds=$secs server_open=$srv_open wan_established=$est pxtool_active=$active rss_kib=$rss0..$rss1 anon_kib=$anon0..$anon1 pxtool_fds=$fds"
	# the connections are gone again before the next test
	i=0
	while cmd stats; [ "$(field "$CMD_OUT" active)" != 0 ] && [ $i -lt 100 ]; do
		sleep 0.1; i=$((i + 1))
	done
}

# ---- the series ----
# series NAME: the runs of one series, from "LABEL NS ARGS..." lines of
# series_NAME (the first line is the baseline); BENCH_REPS rounds, each
# round running every line once, so baseline and proxy alternate.
series_bulk1() {
	echo "bulk1.base $BASE bulk $SRV $P_SINK $SECS 1"
	echo "bulk1.px $NS_ADDR bulk $SRV $P_SINK $SECS 1"
}
series_bulk4() {
	echo "bulk4.base $BASE bulk $SRV $P_SINK $SECS 4"
	echo "bulk4.px $NS_ADDR bulk $SRV $P_SINK $SECS 4"
}
series_tls() {
	echo "tls.base $BASE rate $SRV $P_HTTPS $SECS 8 -s $NAME -C $CA"
	echo "tls.px $NS_ADDR rate $SRV $P_HTTPS $SECS 8 -s $NAME -C $CA"
	echo "tls.px_sni $NS_NAME rate $SRVN $P_HTTPS $SECS 8 -s $NAME -C $CA"
}
series_http() {
	echo "http.base $BASE rate $SRV $P_HTTP $SECS 8 -H $NAME"
	echo "http.px $NS_ADDR rate $SRV $P_HTTP $SECS 8 -H $NAME"
	echo "http.px_host $NS_NAME rate $SRVN $P_HTTP $SECS 8 -H $NAME"
}
# run LABEL NS ARGS...: one run; its output line goes to $T/raw as
# "LABEL LINE". With BENCH_PERF, the first round is recorded system-wide.
run() {
	_l=$1 _ns=$2
	shift 2
	if [ -n "${BENCH_PERF:-}" ] && [ "$round" = 0 ]; then
		mkdir -p "$BENCH_PERF"
		perf record -a -g -o "$BENCH_PERF/$_l.data" >/dev/null 2>&1 &
		PERFPID=$!
		sleep 0.3
	fi
	_c0=$(ticks "$SRVPID") _x0=$(ticks "$PXPID")
	_o=$(in_ns "$_ns" "$BP" "$@" 2>&1)
	_rc=$?
	_o="$_o srv_cpu_s=$(secs_since "$SRVPID" "$_c0") px_cpu_s=$(secs_since "$PXPID" "$_x0")"
	if [ -n "$PERFPID" ]; then
		kill -INT "$PERFPID"; wait "$PERFPID"; PERFPID=''
	fi
	raw "$_l $_o"
	[ $_rc = 0 ] || note "$_l: exit $_rc: $_o"
	kill -0 "$PXPID" 2>/dev/null || fail "$_l: pxtool is gone"
}

series() {
	round=0
	while [ $round -lt "$REPS" ]; do
		series_$1 >"$T/series"
		while read -r _l _ns _args; do
			# shellcheck disable=SC2086
			run "$_l" "$_ns" $_args </dev/null
		done <"$T/series"
		round=$((round + 1))
	done
}

# The latency runs are sequential (one connection at a time, so never
# more than one busy thread): with BENCH_RT=1 (the default) the client,
# the server and pxtool run them at SCHED_FIFO priority 1, so that
# neighbours on a shared machine do not decide the p99 of either path.
RT=''
rt_on() {
	[ "${BENCH_RT:-1}" = 1 ] || return 0
	RT='chrt -f 1'
	chrt -a -f -p 1 "$SRVPID" >/dev/null && chrt -a -f -p 1 "$PXPID" >/dev/null ||
		fail "chrt failed"
}
rt_off() {
	[ -n "$RT" ] || return 0
	RT=''
	chrt -a -o -p 0 "$SRVPID" >/dev/null
	chrt -a -o -p 0 "$PXPID" >/dev/null
}

# SYN retransmits of the clients' namespaces: on this closed veth network a
# SYN is never lost, so each one is a connection that stalled (a reset or
# an unexpected ACK answered it; the 2026-11-23 TIME_WAIT bug cost ~15 ms
# each: BENCHMARKS.md, "Proxy (issue 3)")
synre() { in_ns "$1" nstat -asz TcpExtTCPSynRetrans | awk '$1 == "TcpExtTCPSynRetrans" { n = $2 } END { print n + 0 }'; }
syn_all() { echo "$(synre "$BASE") $(synre "$NS_ADDR") $(synre "$NS_NAME")"; }

ONLY=${BENCH_ONLY:-hold bulk1 bulk4 tls http lat}
s0=$(stat_srv)
syn0=$(syn_all)
for t in $ONLY; do
	case $t in
	hold)	note "idle connections: $HOLDN over $NSB_HOLD sandboxes"
		holdpx ;;
	bulk1|bulk4) note "bulk TCP ($t), ${SECS}s runs"; series $t ;;
	tls)	note "new TLS connections per second, Connection: close"; series tls ;;
	http)	note "new plain HTTP connections per second, Connection: close"; series http ;;
	lat)	note "connect + first byte, $LATN sequential connections per target and run, interleaved"
		rt_on
		round=0
		while [ $round -lt "$LATREPS" ]; do
			# one process, the three paths taken in turn
			$RT "$BP" lat "$LATN" base="$BASE,$SRV,$P_HTTP,$NAME" \
			    px="$NS_ADDR,$SRV,$P_HTTP,$NAME" \
			    px_host="$NS_NAME,$SRVN,$P_HTTP,$NAME" >"$T/lat" 2>&1 ||
				note "lat: $(cat "$T/lat")"
			while read -r _l _rest; do raw "lat.$_l $_rest"; done <"$T/lat"
			round=$((round + 1))
		done
		rt_off ;;
	*)	fail "BENCH_ONLY: unknown series '$t'" ;;
	esac
done
s1=$(stat_srv)
syn1=$(syn_all)
set -- $syn0 $syn1
raw "synretrans base=$(($4 - $1)) px=$(($5 - $2)) px_name=$(($6 - $3))"
touch "$T/raw"

# ---- checks of what the far end saw ----
sum_ok() { grep "^$1 " "$T/raw" | tr ' ' '\n' | sed -n 's/^ok=//p' | awk '{ s += $1 } END { print s + 0 }'; }
https_cl=$(( $(sum_ok tls.base) + $(sum_ok tls.px) + $(sum_ok tls.px_sni) ))
http_cl=$(( $(sum_ok http.base) + $(sum_ok http.px) + $(sum_ok http.px_host) +
    $(grep '^lat' "$T/raw" | tr ' ' '\n' | sed -n 's/^n=//p; s/^warm=//p' | awk '{ s += $1 } END { print s + 0 }') ))
https_srv=$(( $(field "$s1" https) - $(field "$s0" https) ))
http_srv=$(( $(field "$s1" http) - $(field "$s0" http) ))
CHECKS=''
check() { eval "$2" || CHECKS="$CHECKS
  not ok: $1"; }
check "TLS: the server answered every request the clients counted ($https_srv vs $https_cl)" \
    '[ "$https_srv" = "$https_cl" ]'
check "HTTP: the server answered every request the clients counted ($http_srv vs $http_cl)" \
    '[ "$http_srv" = "$http_cl" ]'
check "bulk: every run received what it sent, with no error" \
    '! grep "^bulk" "$T/raw" | grep -v "error=none" | grep -q . &&
     ! grep "^bulk" "$T/raw" | awk "{ s = r = \"\"; for (i = 1; i <= NF; i++) { if (\$i ~ /^sent=/) s = substr(\$i, 6); if (\$i ~ /^received=/) r = substr(\$i, 10) } if (s != r) bad = 1 } END { exit !bad }"'
check "rate and lat runs: no failed connection" \
    '! grep -E "^(tls|http|lat)" "$T/raw" | grep -v " err=0 " | grep -q .'
case " $ONLY " in *" tls "*)
check "SNI runs: decided by the SNI (audit)" \
    'grep "\"dst\":\"$SRVN\"" "$T/audit" | grep -q "\"name_source\":\"sni\""' ;;
esac
case " $ONLY " in *" http "*|*" lat "*)
check "Host runs: decided by the Host header (audit)" \
    'grep "\"dst\":\"$SRVN\"" "$T/audit" | grep -q "\"name_source\":\"host\""' ;;
esac
check "address runs: decided at accept, with no peek (audit)" \
    '! grep "\"dst\":\"$SRV\"" "$T/audit" | grep "\"event\":\"connect\"" | grep -q "\"name_source\":\"\(sni\|host\)\""'
cmd stats
check "nothing blocked ($CMD_OUT)" '[ "$(field "$CMD_OUT" blocked)" = 0 ]'

# ---- the table ----
vals() { grep "^$1 " "$T/raw" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
med() { vals "$1" "$2" | median; }
spread() { vals "$1" "$2" | sort -n | awk 'NR == 1 { a = $1 } { b = $1 } END { if (NR) printf "%s-%s", a, b }'; }
# paired LABEL_B LABEL_P FIELD ratio|added: per round (the k-th run of
# each label), then the median and range over rounds
paired() {
	vals "$1" "$3" >"$T/pb"
	vals "$2" "$3" >"$T/pp"
	paste "$T/pb" "$T/pp" | awk -v k="$4" '$1 != "" && $2 != "" {
		print (k == "ratio" ? $2 / $1 : $2 - $1) }' | sort -n |
	    awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)], v[1], v[NR] }'
}
# cost LABEL UNIT: CPU seconds of client, server and pxtool per unit
# (per GB for bulk, per 1000 connections for rate), median over runs
cost() {
	grep "^$1 " "$T/raw" | awk -v u="$2" '{
		for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		c = v["cpu_s"] + v["srv_cpu_s"] + v["px_cpu_s"]
		n = u == "GB" ? v["received"] / 1e9 : v["ok"] / 1000
		if (n > 0) printf "%.3f\n", c / n
	}' | median
}
MISSED=0
# row METRIC LABEL_BASE LABEL_PROXY FIELD ratio|added TARGET UNIT [info]
row() {
	_b=$(med "$2" "$4") _p=$(med "$3" "$4")
	[ -n "$_b" ] && [ -n "$_p" ] || return 0
	awk -v m="$1" -v b="$_b" -v p="$_p" -v k="$5" -v t="$6" -v u="$7" \
	    -v sb="$(spread "$2" "$4")" -v sp="$(spread "$3" "$4")" \
	    -v pr="$(paired "$2" "$3" "$4" "$5")" -v info="${8:-}" '
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
		if (info != "") {
			mt = "(info)"
			tg = "-"
		}
		printf "| %s | %s %s (%s) | %s %s (%s) | %s | %s | %s |\n", m, b, u, sb, p, u, sp, res, tg, mt
		exit !(met || info != "")
	}' || MISSED=1
}
# costrow METRIC LABEL_BASE LABEL_PROXY UNIT
costrow() {
	_b=$(cost "$2" "$4") _p=$(cost "$3" "$4")
	[ -n "$_b" ] && [ -n "$_p" ] || return 0
	awk -v m="$1" -v b="$_b" -v p="$_p" -v u="$4" 'BEGIN {
		printf "| %s | %.2f s | %.2f s | %.2fx the CPU | - | (info) |\n", m, b, p, p / b }'
}

echo
echo "Proxy benchmark, $(date -u '+%Y-%m-%d %H:%M') UTC, $(nproc) CPUs, kernel $(uname -r);" \
    "median of $REPS runs of ${SECS} s per throughput or rate figure, of $LATREPS runs of" \
    "$LATN connections per path for latency (fastest-slowest in brackets); policy: the server's address + $nrules other rules." \
    "The ratio and added columns compare the runs of the same round, then take the median (range over rounds)."
echo
echo "| metric | baseline: kernel forwarding | proxy | proxy vs baseline | target | met |"
echo "|---|---:|---:|---:|---|---|"
row "bulk TCP, 1 stream" bulk1.base bulk1.px gbit_s ratio 90 Gbit/s
row "bulk TCP, 4 streams" bulk4.base bulk4.px gbit_s ratio 90 Gbit/s
row "new TLS connections/s, address rule (decided at accept)" tls.base tls.px per_s ratio 80 /s
row "new TLS connections/s, name rule (SNI peeked)" tls.base tls.px_sni per_s ratio 80 /s
row "new plain HTTP connections/s, address rule" http.base http.px per_s ratio 80 /s info
row "new plain HTTP connections/s, name rule (Host peeked)" http.base http.px_host per_s ratio 80 /s info
row "connect + first byte, p50, address rule" lat.base lat.px p50_us added 200 us info
row "connect + first byte, p99, address rule" lat.base lat.px p99_us added 200 us
row "connect + first byte, p50, Host peeked" lat.base lat.px_host p50_us added 200 us info
row "connect + first byte, p99, Host peeked" lat.base lat.px_host p99_us added 200 us
costrow "CPU per GB moved, 1 stream (client + server + pxtool)" bulk1.base bulk1.px GB
costrow "CPU per GB moved, 4 streams" bulk4.base bulk4.px GB
costrow "CPU per 1000 TLS connections" tls.base tls.px 1000
costrow "CPU per 1000 plain HTTP connections" http.base http.px 1000
if grep -q '^hold ' "$T/raw"; then
	set -- $(grep '^hold ' "$T/raw" | tr ' ' '\n' | sed -n 's/^held=//p; s/^rss_kib=//p; s/^anon_kib=//p' | tr '\n' ' ')
	held=$1
	per() { echo "$1" | awk -F'[.][.]' -v n="$held" '{ if (n) printf "%.0f", ($2 - $1) * 1024 / n; else print 999999 }'; }
	rss_per=$(per "$2") anon_per=$(per "$3")
	m1=yes
	want=$(grep '^hold ' "$T/raw" | tr ' ' '\n' | sed -n 's/^wanted=//p')
	if [ "$held" -lt "$want" ] || [ "$rss_per" -gt 16384 ] || [ "$anon_per" -gt 16384 ]; then
		m1='**no**' MISSED=1
	fi
	echo "| idle connections held by one pxtool (its RSS, anonymous memory) | - | $held: +$rss_per B, +$anon_per B per connection | - | >= $want at <= 16384 B each | $m1 |"
	echo
	echo "Idle: $(grep '^hold ' "$T/raw" | cut -d' ' -f2-)"
fi
echo
echo "Client SYN retransmits over the run (TcpExtTCPSynRetrans, each a stalled connect):" \
    "$(grep '^synretrans ' "$T/raw" | cut -d' ' -f2-)"
echo
if [ -n "$CHECKS" ]; then
	echo "Checks that failed:$CHECKS"
	exit 2
fi
echo "Checks passed: the far end answered exactly the requests the clients counted" \
    "(TLS $https_srv, HTTP $http_srv), bulk bytes complete, decisions by SNI / Host /" \
    "address as audited, nothing blocked."
exit $MISSED
