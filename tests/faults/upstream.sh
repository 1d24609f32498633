#!/bin/sh
# upstream.sh - upstream hosts down or slow, as a guest and the audit see
# them. The guest's connection is accepted by the proxy (TPROXY completes
# its handshake), so an upstream failure reaches it as a reset: at once
# when the upstream refuses, after the proxy's connect timeout (10 s) when
# SYNs vanish (nft drop in wan), never a hang. A slow server, a slow
# handshake (SYNs dropped for 1.5 s) and a server that resets mid-stream
# are relayed faithfully. Every close event says what happened. Judged by
# a probe's own errno and timing, the wan's counters and server log, and
# the audit store.
TEST=faults
. "$(dirname "$0")/lib.sub"

CONNECT_MS=10000	# proxy_config_default pc_connect_ms
SRVLOG=$T/slowsrv.log
: >"$SRVLOG"
universe_wan "$U" python3 tests/faults/slowsrv.py "$SRVLOG" >"$T/slowsrv.out" 2>&1 &
universe_wait_file "$T/slowsrv.out" ready 5 || { nok setup "slowsrv.py: $(cat "$T/slowsrv.out")"; exit 1; }
# SYNs to 192.0.2.11:82 vanish for the whole test.
universe_wan "$U" nft -f - <<'EOF'
table inet irtfault {
	chain pre { type filter hook prerouting priority -300; ip daddr 192.0.2.11 tcp dport 82 drop; }
}
EOF

d_start || { nok start "isorund did not start"; exit 1; }
api POST /v1/sandboxes '{"id":"u1","network":{"allow":["allowed.test","203.0.113.10"]}}'
check "a sandbox" '[ "$ST" = 201 ]' "$ST $(cat "$BODYF")"
NS=/run/netns/$R-sb0
# The guest resolves allowed.test first: a Host name is trusted only when
# the runner resolved it for this sandbox.
nsenter --net="$NS" python3 tests/net/lib/dnsq.py 192.0.2.53 allowed.test >/dev/null

# probe ADDR PORT [HOST] [TIMEOUT]: sets P (the probe's JSON) and the
# fields PC (connect), PE (end), PMS, PB (bytes).
probe() {
	P=$(nsenter --net="$NS" python3 tests/faults/tcpprobe.py "$@" 2>&1)
	pj
}
pj() {
	set -- $(echo "$P" | python3 -c 'import json, sys
try:
    j = json.load(sys.stdin)
    print(j["connect"], j["end"] or "-", j["ms"], j["bytes"])
except ValueError:
    print("? ? 0 0")')
	PC=$1 PE=$2 PMS=$3 PB=$4
}
# closed DST DPORT: the reason, bytes down and duration of its close event.
closed() {
	sleep 0.5
	sql "SELECT reason, bytes_down, duration_ms FROM events WHERE event = 'close' AND dst = '$1' AND dport = $2 ORDER BY id DESC LIMIT 1"
}

# In the background meanwhile: the SYNs that vanish.
nsenter --net="$NS" python3 tests/faults/tcpprobe.py 192.0.2.11 82 allowed.test 20 \
    >"$T/timeout.json" 2>&1 &
TP=$!
track $TP

universe_wan_reset "$U"
probe 203.0.113.10 81
check "refused upstream (address rule): the guest gets a reset in $PMS ms" \
    '[ "$PE" = reset ] && [ "$PMS" -lt 500 ]' "$P"
n=$(universe_wan_count "$U" tcp 203.0.113.10 81)
a=$(closed 203.0.113.10 81)
check "... the SYN did reach wan ($n packets) and the audit says 'refused'" \
    '[ "$n" -ge 1 ] && echo "$a" | grep -q "^upstream connect: Connection refused|"' "$a"

probe 192.0.2.11 81 allowed.test
check "refused upstream (name rule, after the peek): the guest gets a reset in $PMS ms" \
    '[ "$PE" = reset ] && [ "$PMS" -lt 500 ]' "$P"
a=$(closed 192.0.2.11 81)
check "... the audit says 'refused'" 'echo "$a" | grep -q "^upstream connect: Connection refused|"' "$a"

probe 192.0.2.11 8091 allowed.test
check "slow server (2 s to answer, then 10 chunks 0.3 s apart): all 10000 bytes arrive ($PMS ms)" \
    '[ "$PE" = eof ] && [ "$PB" = 10000 ] && [ "$PMS" -ge 4500 ]' "$P"
a=$(closed 192.0.2.11 8091)
check "... the audit has its bytes and duration" \
    'echo "$a" | awk -F"|" "\$1 == \"closed\" && \$2 == 10000 && \$3 >= 4500 { f = 1 } END { exit !f }"' "$a"

probe 192.0.2.11 8092 allowed.test
check "server resets after 1000 bytes: the guest gets the bytes, then a reset" \
    '[ "$PE" = reset ] && [ "$PB" = 1000 ]' "$P"
a=$(closed 192.0.2.11 8092)
check "... the audit says 'reset by upstream'" 'echo "$a" | grep -q "^reset by upstream|1000|"' "$a"
check "... both servers logged what they sent" \
    'grep -q "\"port\": 8091, \"dst\": \"192.0.2.11\", \"sent\": 10000" "$SRVLOG" && grep -q "\"port\": 8092, \"dst\": \"192.0.2.11\", \"sent\": 1000" "$SRVLOG"' \
    "$(cat "$SRVLOG")"

# A slow handshake: SYNs to 203.0.113.10:80 vanish for 1.5 s (the kernel
# resends after 1 s, then 2 s).
universe_wan "$U" nft -f - <<'EOF'
table inet irtslow {
	chain pre { type filter hook prerouting priority -300; ip daddr 203.0.113.10 tcp dport 80 drop; }
}
EOF
nsenter --net="$NS" python3 tests/faults/tcpprobe.py 203.0.113.10 80 "" 15 >"$T/slow.json" 2>&1 &
SP=$!
track $SP
sleep 1.5
universe_wan "$U" nft delete table inet irtslow
wait $SP
P=$(cat "$T/slow.json"); pj
check "slow handshake upstream (SYNs lost for 1.5 s): the answer arrives after $PMS ms" \
    '[ "$PE" = eof ] && [ "$PB" -gt 0 ] && [ "$PMS" -ge 1500 ] && [ "$PMS" -lt $CONNECT_MS ]' "$P"
check "... and the wan server saw the request" \
    'universe_wait_log "$U" "\"dst\":\"203.0.113.10\",\"dport\":80,.*\"status\":200" 2' "$(tail -2 "$(universe_wan_log "$U")")"

wait $TP
P=$(cat "$T/timeout.json"); pj
check "SYNs vanish upstream: the guest gets a reset after $PMS ms (connect timeout $CONNECT_MS ms)" \
    '[ "$PC" = ok ] && [ "$PE" = reset ] && [ "$PMS" -ge $((CONNECT_MS - 500)) ] && [ "$PMS" -lt $((CONNECT_MS + 1500)) ]' "$P"
a=$(closed 192.0.2.11 82)
n=$(universe_wan_count "$U" tcp 192.0.2.11 82)
check "... $n SYNs reached wan, the audit says 'no answer in $CONNECT_MS ms'" \
    '[ "$n" -ge 3 ] && echo "$a" | grep -q "^upstream connect: no answer in $CONNECT_MS ms|"' "$a"

sleep 0.3
g=$(metric isorun_active_connections)
check "no proxied connection is left open (isorun_active_connections $g)" '[ "$g" = 0 ]' "$g"
d_stop TERM
check "isorund stops cleanly (exit 0: no leak under ASan)" '[ "$DRC" = 0 ]' \
    "exit $DRC: $(tail -3 "$T/daemon.log")"
exit 0
