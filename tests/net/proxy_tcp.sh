#!/bin/sh
# proxy_tcp.sh - the enforcer end to end (src/gateway + src/proxy), in the
# closed universe of tests/net/lib/universe.sub.
#
# pxtool plays the runner inside U-host (entered with nsenter --net only, so
# that the sandbox namespaces it names under /run/netns stay visible here).
# Clients run in the sandbox namespaces. Every verdict is judged by what
# reached the far side: the wan servers' log, the nft counters in wan, the
# host service's log, a listener in another sandbox.
set -u
cd "$(dirname "$0")/../.."
B=${ISORUN_BUILD:-build/san}
PX=$B/tests/pxtool
GW=$B/tests/gwtool
PYC="python3 tests/net/lib/pxclient.py"
if [ "$(id -u)" != 0 ]; then
	echo "ok - proxy_tcp # skip: needs root"
	exit 0
fi
for f in "$PX" "$GW"; do
	[ -x "$f" ] || { echo "not ok - proxy_tcp: $f is not built"; exit 1; }
done
. tests/net/lib/universe.sub
U=irt-$$
R=irt-$$p
T=$(mktemp -d)
PXPID=''

cleanup() {
	exec 3>&- 2>/dev/null
	[ -n "$PXPID" ] && { kill "$PXPID" 2>/dev/null; wait "$PXPID" 2>/dev/null; }
	"$PX" purge "$R" >/dev/null 2>&1
	universe_down "$U"
	[ -n "${PX_KEEP:-}" ] && cp "$T/audit" "$PX_KEEP"
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE

ok() { echo "ok - $1"; }
nok() { echo "not ok - $1: $2"; }
check() { if eval "$2"; then ok "$1"; else nok "$1" "$3"; fi; }

universe_up "$U" || { echo "not ok - proxy_tcp: universe_up failed"; exit 1; }
WLOG=$(universe_wan_log "$U")
HLOG=$(universe_host_log "$U")
CA=$UNIVERSE_CA

# The runner: short peek timers so the timeouts are testable quickly.
mkfifo "$T/in"
nsenter --net=/run/netns/"$U-host" "$PX" run -t 2 -f 800 -p 1500 -m 8 "$R" \
    <"$T/in" >"$T/out" 2>"$T/audit" &
PXPID=$!
exec 3>"$T/in"

. tests/net/lib/pxtool.sub
if ! px_ready; then
	echo "not ok - proxy_tcp: pxtool did not start: $(cat "$T/out" "$T/audit" | head -5)"
	exit 1
fi

# Sandboxes: sb0 allow-list with names, sb1 deny-list, sb2 allow-all,
# sb3 the seed "only api.example.com", sb4 for the connection limit.
cmd add a allow=203.0.113.10,api.example.com,*.example.com deny=www.example.com >/dev/null
cmd add b deny=blocked.test,192.0.2.12 >/dev/null
cmd add c >/dev/null
cmd add d deny=0.0.0.0/0 allow=api.example.com >/dev/null
cmd add e >/dev/null
# What each sandbox's own lookups returned (the DNS view's part).
cmd dns a 192.0.2.10 api.example.com www.example.com x.example.com >/dev/null
cmd dns a 2001:db8:1::10 api.example.com >/dev/null
cmd dns a 192.0.2.11 git.example.com >/dev/null
cmd dns d 192.0.2.10 api.example.com >/dev/null
cmd dns b 203.0.113.11 blocked.test >/dev/null
A=$R-sb0 Bn=$R-sb1 C=$R-sb2 D=$R-sb3 E=$R-sb4
check "five sandboxes added" '[ "$(grep -c "^added" "$T/out")" = 5 ]' "$(cat "$T/out")"

in_ns() { ns=$1; shift; ip netns exec "$ns" "$@"; }
wan_path() { grep -c "\"path\":\"$1\"" "$WLOG" 2>/dev/null; }
wcount() { universe_wan_count "$U" "$@"; }

# 1. address allow rule: arrives
in_ns $A curl -s -m 5 -o /dev/null http://203.0.113.10/t01
universe_wait_log "$U" '"path":"/t01"' 3
check "address rule: permitted connection reaches the server" \
    '[ "$(wan_path /t01)" = 1 ]' "wan log has no /t01"

# 2. direct IP that no rule allows: 403 naming the address, nothing in wan
body=$(in_ns $A curl -s -m 5 http://203.0.113.11/t02)
check "direct IP: blocked with a 403 naming it" \
    'echo "$body" | grep -q "isorun: blocked 203.0.113.11 (rule default)"' "got '$body'"
check "direct IP: nothing reached 203.0.113.11" '[ "$(wcount tcp 203.0.113.11)" = 0 ]' \
    "$(wcount tcp 203.0.113.11) packets"

# 3. allowed name by SNI, resolved by the sandbox to this address
out=$(in_ns $A $PYC tls 192.0.2.10 443 api.example.com --cafile "$CA" --path /t03)
check "SNI allowed and resolved: handshake and request pass" \
    'echo "$out" | grep -q "^ok HTTP/1.1 200"' "got '$out'"
check "SNI allowed: the server saw the SNI" \
    'grep "\"path\":\"/t03\"" "$WLOG" | grep -q "\"sni\":\"api.example.com\""' "no /t03 with sni"

# 4. SNI spoofing: an allowed name sent to an address it never resolved to
#    goes to an address the runner resolved for that name, never the guest's
wcount_before=$(wcount tcp 192.0.2.12)
out=$(in_ns $A $PYC tls 192.0.2.12 443 api.example.com --cafile "$CA" --path /t04)
check "SNI naming an allowed host at another address: connected to the resolved one" \
    'echo "$out" | grep -q "^ok HTTP/1.1 200" && grep "\"path\":\"/t04\"" "$WLOG" | grep -q "\"dst\":\"192.0.2.10\""' \
    "got '$out'"
check "SNI spoofing: nothing reached the address the guest chose" \
    '[ "$(wcount tcp 192.0.2.12)" = "$wcount_before" ]' "counter moved"
out=$(in_ns $A $PYC tls 192.0.2.12 443 y.example.com --cafile "$CA")
check "SNI with an allowed name the sandbox never resolved: access_denied alert" \
    '[ "$out" = "alert access_denied" ] && [ "$(wcount tcp 192.0.2.12)" = "$wcount_before" ]' \
    "got '$out'"
check "SNI never resolved: audited as unresolved-name" \
    'grep "\"name\":\"y.example.com\"" "$T/audit" | grep -q "\"rule\":\"unresolved-name\""' \
    "$(grep y.example.com "$T/audit" | head -2)"

# 5. Host spoofing over HTTP: the same
body=$(in_ns $A curl -s -m 5 -H 'Host: api.example.com' http://192.0.2.12/t05)
check "Host naming an allowed host at another address: served by the resolved one" \
    'echo "$body" | grep -q "wan 192.0.2.10 host=api.example.com path=/t05"' "got '$body'"
body=$(in_ns $A curl -s -m 5 -H 'Host: z.example.com' http://192.0.2.12/t05b)
check "Host with an allowed name never resolved: 403 naming it" \
    'echo "$body" | grep -q "isorun: blocked z.example.com (rule unresolved-name)"' "got '$body'"
check "Host spoofing: nothing reached the address the guest chose" \
    '[ "$(wcount tcp 192.0.2.12)" = "$wcount_before" ] && [ "$(wan_path /t05b)" = 0 ]' "it arrived"

# 6. deny inside an allowed wildcard, same address as an allowed name
out=$(in_ns $A $PYC tls 192.0.2.10 443 www.example.com --cafile "$CA" --path /t06)
check "deny rule inside an allowed wildcard: alert" '[ "$out" = "alert access_denied" ]' "got '$out'"
check "denied name on a shared address: the server saw nothing" \
    '[ "$(wan_path /t06)" = 0 ] && ! grep -q "\"sni\":\"www.example.com\"" "$WLOG"' "it arrived"

# 7. wildcard allow
out=$(in_ns $A $PYC tls 192.0.2.10 443 x.example.com --cafile "$CA" --path /t07)
check "wildcard allow rule: permitted" 'echo "$out" | grep -q "^ok HTTP/1.1 200" &&
    [ "$(wan_path /t07)" = 1 ]' "got '$out'"

# 8. HTTP Host allowed and resolved
in_ns $A curl -s -m 5 -o /dev/null --resolve api.example.com:80:192.0.2.10 http://api.example.com/t08
universe_wait_log "$U" '"path":"/t08"' 3
check "Host allowed and resolved: permitted" \
    'grep "\"path\":\"/t08\"" "$WLOG" | grep -q "\"host\":\"api.example.com\""' "no /t08"

# 9. server-first protocol: the name comes from DNS after the first-byte wait
out=$(in_ns $A $PYC banner 192.0.2.11 22)
check "server-first protocol (SSH banner) to a DNS-named allowed host" \
    'echo "$out" | grep -q "^ok SSH-2.0-wan"' "got '$out'"
ms=$(echo "$out" | sed -n 's/.*ms=\([0-9]*\).*/\1/p')
check "server-first: decided after the first-byte wait, well before a client timeout" \
    '[ -n "$ms" ] && [ "$ms" -ge 700 ] && [ "$ms" -lt 3000 ]' "ms=$ms"
out=$(in_ns $A $PYC raw 192.0.2.11 22 "$(printf 'SSH-2.0-test\r\n' | od -An -tx1 | tr -d ' \n')" --wait 2)
check "client-first non-TLS protocol named by DNS: passes at once" \
    'echo "$out" | grep -q "5353482d322e302d77616e"' "got '$out'"

# 10. IPv6
out=$(in_ns $A $PYC tls 2001:db8:1::10 443 api.example.com --cafile "$CA" --path /t10)
check "IPv6: allowed name reaches the server over IPv6" \
    'echo "$out" | grep -q "^ok HTTP/1.1 200" && grep "\"path\":\"/t10\"" "$WLOG" | grep -q "2001:db8:1::10"' \
    "got '$out'"

# 11. the seed: deny 0.0.0.0/0, allow api.example.com (IPv6 closed too)
in_ns $D curl -s -m 5 -o /dev/null http://192.0.2.11/t11a
in_ns $D curl -s -m 5 -o /dev/null "http://[2001:db8:1::11]/t11b"
out=$(in_ns $D $PYC tls 192.0.2.10 443 api.example.com --cafile "$CA" --path /t11c)
check "seed deny 0.0.0.0/0 + allow name: the name works" 'echo "$out" | grep -q "^ok HTTP/1.1 200"' "got '$out'"
check "seed: other IPv4 and IPv6 destinations blocked (server saw nothing)" \
    '[ "$(wan_path /t11a)" = 0 ] && [ "$(wan_path /t11b)" = 0 ]' "arrived"

# 12. deny-list sandbox: default permitted, deny rules hold
in_ns $Bn curl -s -m 5 -o /dev/null http://192.0.2.11/t12a
universe_wait_log "$U" '"path":"/t12a"' 3
check "deny-list: other destinations permitted" '[ "$(wan_path /t12a)" = 1 ]' "no /t12a"
before=$(wcount tcp 192.0.2.12)
in_ns $Bn curl -s -m 5 -o /dev/null http://192.0.2.12/t12b
rc=$?
check "deny-list: denied address reset at once (no peek), nothing sent" \
    '[ $rc -ne 0 ] && [ "$(wcount tcp 192.0.2.12)" = "$before" ]' "rc=$rc"
out=$(in_ns $Bn $PYC halfclose 203.0.113.11 7 x)
check "deny-list: a connection with no SNI or Host takes its name from DNS (denied)" \
    '[ "$out" = "reset " ] && [ "$(wcount tcp 203.0.113.11)" = 0 ]' "got '$out'"
out=$(in_ns $Bn $PYC tls 192.0.2.11 443 blocked.test --cafile "$CA")
check "deny-list: denied SNI at an otherwise permitted address: alert" \
    '[ "$out" = "alert access_denied" ]' "got '$out'"

# 13. guard list and sandbox isolation, even for an allow-all sandbox
in_ns $C curl -s -m 5 -o /dev/null http://198.51.100.1:8022/t13
check "guard: the runner host's own service is unreachable" \
    '! grep -q . "$HLOG" 2>/dev/null' "$(cat "$HLOG")"
in_ns $C curl -s -m 5 -o /dev/null http://169.254.169.254/latest/meta-data/
check "guard: 169.254.169.254 blocked (audited as guard)" \
    'grep "\"dst\":\"169.254.169.254\"" "$T/audit" | grep -q "\"rule\":\"guard\""' "no guard event"
ip netns exec $A socat -u TCP6-LISTEN:8080,fork,ipv6only=0,reuseaddr OPEN:"$T/sb0.log",creat,append &
LPID=$!
sleep 0.3
in_ns $C curl -s -m 3 -o /dev/null -d leak http://100.64.0.2:8080/
in_ns $C curl -s -m 3 -o /dev/null -d leak "http://[2001:db8:4952::2]:8080/"
kill $LPID 2>/dev/null; wait $LPID 2>/dev/null
check "sandbox to sandbox: nothing arrives (IPv4 and IPv6)" '[ ! -s "$T/sb0.log" ]' \
    "$(cat "$T/sb0.log" 2>/dev/null)"

# 14. UDP: address rules only
out=$(in_ns $Bn "$GW" udp -t 2000 192.0.2.11 7 | head -1)
check "UDP to a permitted address: echoed" 'echo "$out" | grep -q "^reply"' "got '$out'"
check "UDP: the server saw the datagram" 'grep -q "\"proto\":\"udp\"" "$WLOG"' "no udp in wan log"
before=$(wcount udp 192.0.2.12)
out=$(in_ns $Bn "$GW" udp -t 1000 192.0.2.12 7 | head -1)
check "UDP to a denied address: nothing reaches it" \
    '[ "$(wcount udp 192.0.2.12)" = "$before" ] && ! echo "$out" | grep -q "^reply"' "got '$out'"
check "... and the client learns it at once (administratively prohibited)" \
    'echo "$out" | grep -q "^unreachable"' "got '$out'"
out=$(in_ns $A "$GW" udp -t 1000 192.0.2.10 7 | head -1)
check "UDP to an address allowed only by name: blocked (names do not count for UDP)" \
    '! echo "$out" | grep -q "^reply" && [ "$(wcount udp 192.0.2.10)" = 0 ]' "got '$out'"

# 15. ICMP (SPEC 2: only under an unrestricted policy; tests/net/icmp.sh has more)
out=$(in_ns $Bn "$GW" ping -t 1000 192.0.2.10 | head -1)
check "ICMP echo under a deny-list policy: prohibited at once, nothing reaches wan" \
    'echo "$out" | grep -q "^unreachable" && [ "$(wcount icmp)" = 0 ]' "got '$out'"
out=$(in_ns $C "$GW" ping -t 1000 192.0.2.10 | head -1)
check "ICMP echo from the allow-all sandbox: relayed, one echo reached wan" \
    'echo "$out" | grep -q "^reply" && [ "$(wcount icmp 192.0.2.10)" = 1 ]' "got '$out'"

# 16. ClientHello in 1-byte segments, and split over many TLS records
out=$(in_ns $A $PYC tls 192.0.2.10 443 api.example.com --cafile "$CA" --chunk 1 --path /t16a)
check "ClientHello in 1-byte segments: read and permitted" \
    'echo "$out" | grep -q "^ok HTTP/1.1 200" && [ "$(wan_path /t16a)" = 1 ]' "got '$out'"
out=$(in_ns $A $PYC tls 192.0.2.10 443 api.example.com --cafile "$CA" --record 37 --chunk 11 --path /t16b)
check "ClientHello over 37-byte TLS records: read and permitted" \
    'echo "$out" | grep -q "^ok HTTP/1.1 200" && [ "$(wan_path /t16b)" = 1 ]' "got '$out'"
out=$(in_ns $A $PYC tls 192.0.2.10 443 www.example.com --cafile "$CA" --record 20 --chunk 3)
check "split ClientHello with a denied SNI: still denied" '[ "$out" = "alert access_denied" ]' "got '$out'"

# 17. a ClientHello declaring 16 MiB: refused at once
before=$(wcount tcp)
out=$(in_ns $A $PYC raw 192.0.2.10 443 160301ffff01ffffff0303 --wait 3)
check "ClientHello declaring 16 MiB: alert without waiting for it" \
    'echo "$out" | grep -q "15030300020231"' "got '$out'"
# 18. an ambiguous head to an address-allowed destination is still blocked
out=$(in_ns $A $PYC raw 203.0.113.10 80 "$(printf 'GET /t18 HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n' | od -An -tx1 | tr -d ' \n')" --wait 3)
check "two Host headers: blocked with a 403" 'echo "$out" | grep -q "^closed 485454502f312e3120343033"' "got '$out'"
check "malformed hello and head: nothing reached wan" \
    '[ "$(wcount tcp)" = "$before" ] && [ "$(wan_path /t18)" = 0 ]' "counter moved"

# 19. half-close passes through both ways
out=$(in_ns $Bn $PYC halfclose 192.0.2.11 7 hello-half-close)
check "half-close: the server's answer after our FIN comes back" \
    '[ "$out" = "closed hello-half-close" ]' "got '$out'"

# 20. bulk data arrives complete
out=$(in_ns $Bn $PYC bulk 192.0.2.11 5001 20000000)
universe_wait_log "$U" '"bytes_in":20000000' 5
check "20 MB through the proxy arrive complete" \
    'echo "$out" | grep -q "^ok" && grep -q "\"bytes_in\":20000000" "$WLOG"' "got '$out'"
check "close event counts the bytes" \
    'grep "\"event\":\"close\"" "$T/audit" | grep -q "\"bytes_up\":20000000"' "no close event with 20000000"

# 20b. many short connections whose server answers and closes at once: both
#     sides' events land in one batch (a use-after-free once), all arrive
seq 1 40 | in_ns $Bn xargs -P 8 -I N curl -s -m 5 -o /dev/null \
    -H 'Connection: close' http://192.0.2.11/t20b-N
sleep 0.5
cmd stats >"$T/r"	# not in $(): cmd counts the answers it has read
r=$(cat "$T/r")
check "40 short connections in parallel: all served, the runner alive" \
    '[ "$(grep -c "\"path\":\"/t20b-" "$WLOG")" = 40 ] && echo "$r" | grep -q "^stats"' \
    "$(grep -c '/t20b-' "$WLOG") arrived; stats: '$r'"

# 20c. a sandbox that reuses its source port while the gateway still holds
#     the previous connection in TIME_WAIT (the proxy closed first there)
#     gets a SYN-ACK at once: no bare ACK, reset and SYN retry (~15 ms)
cat >"$T/reuse.py" <<'PYEOF'
import socket, sys, time
port = 0
for i in range(2):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    port = s.getsockname()[1]
    s.settimeout(5)
    s.connect(("192.0.2.11", 80))
    s.sendall(b"GET /t20c-%d HTTP/1.0\r\nConnection: close\r\n\r\n" % i)
    while s.recv(65536):
        pass
    s.close()
    time.sleep(0.3)
print("ok", port)
PYEOF
syn0=$(in_ns $C nstat -asz TcpExtTCPSynRetrans | awk '$1 == "TcpExtTCPSynRetrans" { print $2 }')
out=$(in_ns $C python3 "$T/reuse.py" 2>&1)
syn1=$(in_ns $C nstat -asz TcpExtTCPSynRetrans | awk '$1 == "TcpExtTCPSynRetrans" { print $2 }')
check "source port reused over a TIME_WAIT in the gateway: no SYN retry" \
    'echo "$out" | grep -q "^ok" && [ "$(grep -c "\"path\":\"/t20c-" "$WLOG")" = 2 ] &&
     [ "${syn1:-x}" = "${syn0:-y}" ]' "got '$out', SYN retransmits ${syn0:-?} -> ${syn1:-?}"

# 20d. upstream resets after sending 3 MB that the client has not read yet:
#     what it sent before the reset (in the proxy's pipe and buffers) still
#     reaches the client, then the reset
# rst_srv.py PORT READ SEND READY: a server in wan that reads READ bytes,
# sends SEND bytes, waits until the proxy acknowledged them all, then resets
cat >"$T/rst_srv.py" <<'PYEOF'
import fcntl, socket, struct, sys, termios, time
port, want, send, ready = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("192.0.2.11", port))
s.listen(4)
open(ready, "w").write("ready\n")
c, a = s.accept()
got = 0
while got < want:
    got += len(c.recv(65536))
c.sendall(b"x" * send)
for i in range(300):	# until the proxy acknowledged every byte
    if struct.unpack("i", fcntl.ioctl(c, termios.TIOCOUTQ, b"\0" * 4))[0] == 0:
        break
    time.sleep(0.01)
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
c.close()
open(ready, "a").write("got %d\n" % got)
PYEOF
ip netns exec "$U-wan" python3 "$T/rst_srv.py" 5003 0 3000000 "$T/rst.ready" &
RSP=$!
universe_wait_file "$T/rst.ready" ready 5
out=$(in_ns $C python3 -c '
import socket, time
# A small receive buffer: most of the 3 MB still waits in the socket of the proxy
# to us when the reset comes: a reset sent at once would drop it.
c = socket.socket()
c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
c.settimeout(10)
c.connect(("192.0.2.11", 5003))
time.sleep(2)
n, end = 0, "eof"
while True:
    try:
        d = c.recv(1 << 20)
    except OSError as e:
        end = e.__class__.__name__
        break
    if not d:
        break
    n += len(d)
print(n, end)' 2>&1)
kill $RSP 2>/dev/null; wait $RSP 2>/dev/null
check "upstream reset after 3 MB: every byte first, then the reset" \
    '[ "$out" = "3000000 ConnectionResetError" ]' "got '$out'"

# 20e. upstream answers early and resets while the client is still
#     uploading (a 413 and a close with unread data): the proxy's write to it
#     fails, yet the answer still reaches the client in full, then the reset
ip netns exec "$U-wan" python3 "$T/rst_srv.py" 5004 100000 500000 "$T/early.ready" &
RSP=$!
universe_wait_file "$T/early.ready" ready 5
out=$(in_ns $C python3 -c '
import socket, threading, time
c = socket.socket()
c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
c.settimeout(10)
c.connect(("192.0.2.11", 5004))
# The reset is reported once, to the send or to the recv, whichever asks first.
errs = []
def up():
    try:
        c.sendall(b"u" * 20000000)
    except OSError as e:
        errs.append(e.__class__.__name__)
t = threading.Thread(target=up, daemon=True)
t.start()
time.sleep(2)
n = 0
while True:
    try:
        d = c.recv(1 << 20)
    except OSError as e:
        errs.append(e.__class__.__name__)
        break
    if not d:
        break
    n += len(d)
t.join(5)
print(n, "reset" if "ConnectionResetError" in errs else "no reset: %s" % errs)' 2>&1)
kill $RSP 2>/dev/null; wait $RSP 2>/dev/null
check "upstream answers and resets during an upload: the whole answer, then the reset" \
    '[ "$out" = "500000 reset" ] && grep -q "^got" "$T/early.ready"' \
    "got '$out', server: $(tr '\n' ' ' <"$T/early.ready")"

# 21. a live policy change closes what the new policy blocks
in_ns $Bn $PYC hold 192.0.2.11 5001 1 4 >"$T/hold" 2>&1 &
HPID=$!
# past the first-byte wait (0.8 s): the connection is relayed by now
sleep 2
cmd set b deny=blocked.test,192.0.2.12,192.0.2.11 >"$T/r"
r=$(cat "$T/r")
wait $HPID
check "live change: accepted" '[ "$r" = "set b" ]' "got '$r'"
check "live change: the open connection to a newly denied address is closed" \
    '[ "$(cat "$T/hold")" = "ok 0" ]' "got '$(cat "$T/hold")'"
in_ns $Bn curl -s -m 3 -o /dev/null http://192.0.2.11/t21
check "live change: new connections follow the new policy" '[ "$(wan_path /t21)" = 0 ]' "arrived"
check "live change: audited" 'grep -q "blocked by a policy change" "$T/audit"' "no event"

# 22. the per-sandbox connection limit (8 here) does not starve others
in_ns $E $PYC hold 192.0.2.10 5001 10 2 >"$T/hold2" 2>&1 &
HPID=$!
sleep 0.7
in_ns $C curl -s -m 3 -o /dev/null http://192.0.2.11/t22
wait $HPID
check "connection limit: the sandbox holds at most 8" '[ "$(cat "$T/hold2")" = "ok 8" ]' \
    "got '$(cat "$T/hold2")'"
check "connection limit: another sandbox keeps working meanwhile" '[ "$(wan_path /t22)" = 1 ]' "no /t22"

# 23. a hello that never completes is refused after the peek timeout
out=$(in_ns $A $PYC raw 192.0.2.10 443 1603 --wait 4)
check "incomplete ClientHello: alert after the peek timeout" \
    'echo "$out" | grep -q "15030300020231"' "got '$out'"

# 24. guest root (in its own user namespace) cannot change the network
before=$(ip -n $Bn route show; ip -n $Bn -6 route show)
in_ns $Bn unshare -U -r sh -c 'ip route add 192.0.2.0/24 via 100.64.0.5 ||
    ip route del default; ip addr add 100.64.0.9/30 dev eth0;
    ip link set eth0 down; nft flush ruleset' >/dev/null 2>&1
after=$(ip -n $Bn route show; ip -n $Bn -6 route show)
check "guest root: routes, addresses, links unchanged" \
    '[ "$before" = "$after" ] && ip -n $Bn link show eth0 | grep -q "state UP"' "changed"
out=$(in_ns $Bn unshare -U -r python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_RAW, 1)' 2>&1)
check "guest root: no raw sockets" 'echo "$out" | grep -q "PermissionError"' "got '$out'"

# 25. the runner killed with SIGKILL: no way out remains
kill -9 "$PXPID"; wait "$PXPID" 2>/dev/null; PXPID=''
before=$(wcount all)
in_ns $C curl -s -m 3 -o /dev/null http://192.0.2.11/t25
in_ns $C "$GW" udp -t 1000 192.0.2.11 7 >/dev/null
check "runner killed: nothing reaches wan any more" \
    '[ "$(wcount all)" = "$before" ] && [ "$(wan_path /t25)" = 0 ]' "counter moved"
"$PX" purge "$R"
check "purge after a crash removes every namespace" \
    '! ip netns list | grep -q "^$R-"' "$(ip netns list | grep "$R-")"
