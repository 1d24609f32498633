#!/bin/sh
# intercept.sh - endpoint rules and credential injection in the proxy
# (issue 9, docs/endpoints.md): TLS interception of endpoint hosts only,
# each request checked, credentials injected, in the closed universe.
#
# pxtool plays the runner in U-host with interception on (-E: its CA and
# secrets in $T/state; upstream servers verified against the universe's
# test CA). Clients run in the sandbox namespaces and trust only the
# runner's CA. Every verdict is judged by what the wan server received:
# its log records each request's method, target and header fields.
set -u
cd "$(dirname "$0")/../.."
B=${ISORUN_BUILD:-build/san}
PX=$B/tests/pxtool
EPC="python3 tests/net/lib/epclient.py"
PYC="python3 tests/net/lib/pxclient.py"
TEST=intercept
if [ "$(id -u)" != 0 ]; then
	echo "ok - $TEST # skip: needs root"
	exit 0
fi
[ -x "$PX" ] || { echo "not ok - $TEST: $PX is not built"; exit 1; }
. tests/net/lib/universe.sub
U=irt-$$
R=irt-$$i
T=$(mktemp -d)
PXPID='' BADPID=''
SECRET=sk-live-4d1b9e7c0a2f   # never to be seen by the guest

cleanup() {
	exec 3>&- 2>/dev/null
	[ -n "$PXPID" ] && { kill "$PXPID" 2>/dev/null; wait "$PXPID" 2>/dev/null; }
	[ -n "$BADPID" ] && { kill "$BADPID" 2>/dev/null; wait "$BADPID" 2>/dev/null; }
	"$PX" purge "$R" >/dev/null 2>&1
	universe_down "$U"
	rm -rf "$T"
}
trap cleanup EXIT
[ -n "${KEEP_OUT:-}" ] && trap "cp \"\$T/out\" \"\$T/audit\" /tmp/ 2>/dev/null; cleanup" EXIT
trap 'exit 1' INT TERM HUP PIPE

ok() { echo "ok - $TEST: $1"; }
nok() { echo "not ok - $TEST: $1: $2"; }
check() { if eval "$2"; then ok "$1"; else nok "$1" "$3"; fi; }

universe_up "$U" || { echo "not ok - $TEST: universe_up failed"; exit 1; }
WLOG=$(universe_wan_log "$U")

# An upstream whose certificate no trusted CA signed: api.openai.com:8443.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/bad.key" -out "$T/bad.crt" -days 2 -subj /CN=api.openai.com \
    -addext subjectAltName=DNS:api.openai.com >/dev/null 2>&1
cat >"$T/bad.py" <<'EOF'
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("192.0.2.10", 8443)); s.listen(16)
log = open(sys.argv[3], "a", buffering=1)
open(sys.argv[4], "w").close()
while True:
    c, a = s.accept()
    log.write("conn\n")
    try:
        t = ctx.wrap_socket(c, server_side=True)
        d = t.recv(65536)
        log.write("request %r\n" % d[:64])
        t.close()
    except Exception as e:
        log.write("tls-failed %s\n" % e)
        c.close()
EOF
: >"$T/bad.log"
ip netns exec "$U-wan" python3 "$T/bad.py" "$T/bad.crt" "$T/bad.key" \
    "$T/bad.log" "$T/bad.ready" &
BADPID=$!

mkfifo "$T/in"
mkdir -m 700 "$T/state"
nsenter --net=/run/netns/"$U-host" "$PX" run -t 2 -E "$T/state" \
    -U "$UNIVERSE_CA" "$R" <"$T/in" >"$T/out" 2>"$T/audit" &
PXPID=$!
exec 3>"$T/in"
. tests/net/lib/pxtool.sub
# c LINE...: cmd, its answer in $r (cmd must not run in a subshell: nout).
c() { cmd "$@" >"$T/last"; r=$(cat "$T/last"); }
if ! px_ready; then
	echo "not ok - $TEST: pxtool did not start: $(cat "$T/out" "$T/audit" | head -5)"
	exit 1
fi
RCA=$T/state/ca/ca.crt
check "the runner made its CA (key 0600)" \
    '[ -s "$RCA" ] && [ "$(stat -c %a "$T/state/ca/ca.key")" = 600 ]' \
    "$(ls -l "$T/state/ca" 2>&1)"

# a: the seeds' shape - an allow-list on api.openai.com with a credential.
# b: the same host on 8443, whose server has a certificate of no known CA.
cmd add a allow=api.openai.com,allowed.test >/dev/null
cmd add b allow=api.openai.com >/dev/null
cmd add c allow=api.openai.com >/dev/null
cmd add d allow=api.openai.com >/dev/null
cmd dns a 192.0.2.10 api.openai.com >/dev/null
cmd dns a 192.0.2.11 allowed.test >/dev/null
cmd dns b 192.0.2.10 api.openai.com >/dev/null
cmd dns c 192.0.2.10 api.openai.com >/dev/null
cmd dns d 192.0.2.10 api.openai.com >/dev/null
c ep a api.openai.com 'rule=POST,/v1/chat/completions,allow' \
    'rule=*,/v1/files/*,allow' 'rule=DELETE,/v1/admin/*,deny' \
    'rule=GET,/v1/models,allow' \
    'cred=Authorization=Bearer%20${secret:openai}'
check "endpoint entry with a credential of a secret not set yet is accepted" \
    '[ "$r" = "ep a" ]' "got '$r'"
c secret openai "$SECRET"
check "secret set" '[ "$r" = "secret openai" ]' "got '$r'"
c ep d api.openai.com:8444 'rule=*,/*,allow'
check "fourth sandbox: an entry on port 8444" '[ "$r" = "ep d" ]' "got '$r'"
c ep c api.openai.com 'rule=*,/*,allow'
check "third sandbox: rules without credentials" '[ "$r" = "ep c" ]' "got '$r'"
c ep b api.openai.com:8443 'rule=*,/*,allow'
check "second sandbox: endpoint on port 8443" '[ "$r" = "ep b" ]' "got '$r'"
c ep a blocked.test 'rule=*,/*,allow'
check "an endpoint host the network policy blocks is refused" \
    'echo "$r" | grep -q "^error .*blocked.test.*network policy"' "got '$r'"
# (the refused entry left a's endpoints as they were: checked below)
A=$R-sb0 Bn=$R-sb1
in_a() { ip netns exec "$A" "$@"; }
H='Host: api.openai.com\r\n'

# 1. An allowed request: answered by the real server, with the credential
#    the runner injected in place of the guest's own.
out=$(in_a $EPC 192.0.2.10 443 api.openai.com "$RCA" \
    "POST /v1/chat/completions?x=1 HTTP/1.1\r\n${H}Authorization: Bearer guest-key\r\nContent-Length: 5\r\n\r\nhello")
check "allowed POST: 200 from upstream through the runner's CA" \
    'echo "$out" | grep -q "^resp 200 .*path=/v1/chat/completions?x=1"' "got '$out'"
universe_wait_log "$U" '"target":"/v1/chat/completions?x=1"' 3
line=$(grep '"target":"/v1/chat/completions?x=1"' "$WLOG")
check "upstream got the injected credential" \
    'echo "$line" | grep -q "\"Authorization\",\"Bearer $SECRET\""' "$line"
check "upstream never got the guest's Authorization" \
    '! echo "$line" | grep -q "guest-key" && [ "$(echo "$line" | grep -o Authorization | wc -l)" = 1 ]' "$line"
check "upstream got the body" 'echo "$line" | grep -q "\"bytes_in\":[0-9]*[0-9]" && echo "$line" | grep -q "\"Content-Length\",\"5\""' "$line"
check "upstream saw the real SNI" 'echo "$line" | grep -q "\"sni\":\"api.openai.com\""' "$line"
check "the guest never saw the secret" '! echo "$out" | grep -q "$SECRET"' "$out"

# 2. Denied by a deny rule: 403 JSON naming the rule; nothing upstream.
: >"$WLOG"
out=$(in_a $EPC 192.0.2.10 443 api.openai.com "$RCA" \
    "DELETE /v1/admin/users/7 HTTP/1.1\r\n${H}\r\n")
check "deny rule: 403 naming the rule" \
    'echo "$out" | grep -q "^resp 403 .*\"rule\":\"deny DELETE /v1/admin/\*\""' "got '$out'"
check "deny rule: the connection stays open (keep-alive)" \
    'echo "$out" | tail -n 1 | grep -q "^open"' "got '$out'"
# 3. Deny first: a method-any allow does not beat it; the default denies.
out=$(in_a $EPC 192.0.2.10 443 api.openai.com "$RCA" \
    "delete /v1/admin HTTP/1.1\r\n${H}\r\n" \
    "GET /v1/nope HTTP/1.1\r\n${H}\r\n" \
    "GET /v1/files/../admin/x HTTP/1.1\r\n${H}\r\n" \
    "GET /v1/%61dmin/x HTTP/1.1\r\n${H}\r\n" \
    "GET /v1/models HTTP/1.1\r\nHost: evil.test\r\n\r\n")
check "lower-case method meets the deny rule" \
    'echo "$out" | sed -n 1p | grep -q "^resp 403 .*deny DELETE"' "got '$out'"
check "no rule matches: the allow-list's default denies" \
    'echo "$out" | sed -n 2p | grep -q "^resp 403 .*\"rule\":\"default\""' "got '$out'"
check "dot segments are ambiguous, denied" \
    'echo "$out" | sed -n 3p | grep -q "^resp 403 .*\"rule\":\"ambiguous\""' "got '$out'"
check "an escaped letter is decoded before matching (default deny)" \
    'echo "$out" | sed -n 4p | grep -q "^resp 403"' "got '$out'"
check "a Host other than the connection's name is denied" \
    'echo "$out" | sed -n 5p | grep -q "^resp 403 .*\"rule\":\"ambiguous\""' "got '$out'"
out2=$(in_a $EPC 192.0.2.10 443 api.openai.com "$RCA" \
    "GET /v1/models HTTP/1.1\r\n${H}Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n")
check "an upgrade to anything but websocket (h2c) is denied: requests after it could not be checked" \
    'echo "$out2" | sed -n 1p | grep -q "^resp 403 .*only websocket"' "got '$out2'"
sleep 0.3
check "no denied request reached upstream" \
    '! grep -q "\"reqs\"" "$WLOG"' "$(grep reqs "$WLOG")"

# 4. Keep-alive: allowed, denied, allowed on one connection.
: >"$T/big"; head -c 3000 /dev/zero | tr '\0' a >"$T/body"
out=$(in_a $EPC 192.0.2.10 443 api.openai.com "$RCA" \
    "GET /v1/models HTTP/1.1\r\n${H}\r\n" \
    "DELETE /v1/admin/x HTTP/1.1\r\n${H}Content-Length: 3\r\n\r\nabc" \
    "DELETE /v1/admin/y HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\n" \
    "POST /v1/files/up HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
check "keep-alive: 200, 403, 403 (empty body), 200 on one connection" \
    '[ "$(echo "$out" | cut -d" " -f1,2 | tr "\n" " ")" = "resp 200 resp 403 resp 403 resp 200 open " ]' "got '$out'"
universe_wait_log "$U" '"target":"/v1/files/up"' 3
line=$(grep '"target":"/v1/files/up"' "$WLOG")
check "keep-alive: upstream saw both allowed requests on ONE connection, not the denied one" \
    'echo "$line" | grep -q "\"requests\":2" && ! echo "$line" | grep -q admin' "$line"

# 4b. A head of many short fields (no space after the colon) is rebuilt
#     with ": " - longer than it came - for an entry without credentials.
flds=''
for n in $(seq 1 90); do flds="${flds}x$n:y\r\n"; done
out=$(ip netns exec "$R-sb2" $EPC 192.0.2.10 443 api.openai.com "$RCA" \
    "GET /many HTTP/1.1\r\n${H}${flds}\r\n")
check "90 short header fields: forwarded whole" \
    'echo "$out" | grep -q "^resp 200 .*path=/many"' "got '$out'"

# 5. Smuggling: a request with both Content-Length and Transfer-Encoding,
#    hiding a DELETE in its body, is refused whole.
: >"$WLOG"
out=$(in_a $EPC 192.0.2.10 443 api.openai.com "$RCA" \
    "POST /v1/chat/completions HTTP/1.1\r\n${H}Content-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nDELETE /v1/admin/x HTTP/1.1\r\n${H}\r\n")
check "CL+TE request: 400 and closed" \
    'echo "$out" | sed -n 1p | grep -q "^resp 400" && echo "$out" | tail -n 1 | grep -q closed' "got '$out'"
sleep 0.3
check "CL+TE request: nothing reached upstream" '! grep -q "\"reqs\"" "$WLOG"' "$(cat "$WLOG")"

# 6. Expect: 100-continue on a denied request: 403 at once, then closed.
out=$(in_a $EPC 192.0.2.10 443 api.openai.com "$RCA" \
    "PUT /v1/admin/x HTTP/1.1\r\n${H}Content-Length: 1000000\r\nExpect: 100-continue\r\n\r\n")
check "denied with Expect: 100-continue: 403 and closed" \
    'echo "$out" | sed -n 1p | grep -q "^resp 403" && echo "$out" | tail -n 1 | grep -q closed' "got '$out'"

# 7. Every other way to the endpoint host is blocked: plain HTTP (403 by
#    the proxy), TLS to another port (alert); nothing reaches wan.
: >"$WLOG"
body=$(in_a curl -s -m 5 -H 'Host: api.openai.com' http://192.0.2.10/plain)
check "plain HTTP to an endpoint host: 403 naming rule endpoint" \
    'echo "$body" | grep -q "rule endpoint"' "got '$body'"
out=$(in_a $PYC tls 192.0.2.10 8443 api.openai.com --cafile "$RCA" --path /p8443 2>&1)
check "TLS to another port of an endpoint host: refused" \
    '! echo "$out" | grep -q "^ok"' "got '$out'"
sleep 0.3
check "neither reached wan" '! grep -q "/plain\|/p8443" "$WLOG"' "$(cat "$WLOG")"

# 7b. New intercepted connections resume the runner's upstream TLS session
#     (no chain to parse and verify again): with 2 proxy loops, 3
#     connections put 2 on one loop, so at least one resumes.
: >"$WLOG"
for n in 1 2 3; do
	in_a $EPC 192.0.2.10 443 api.openai.com "$RCA" \
	    "GET /v1/models?r=$n HTTP/1.1\r\n${H}\r\n" >/dev/null
done
universe_wait_log "$U" '"target":"/v1/models?r=3"' 3
check "upstream TLS sessions are resumed across intercepted connections" \
    '[ "$(grep -c "\"resumed\":true" "$WLOG")" -ge 1 ]' "$(grep -o '"resumed":[a-z]*' "$WLOG" | tr '\n' ' ')"
check "a resumed connection still carries the credential" \
    '[ "$(grep -c "Bearer $SECRET" "$WLOG")" = 3 ]' "$(grep -c "Bearer $SECRET" "$WLOG") of 3"

# 8. A host without endpoint rules is not intercepted: its TLS is end to
#    end (the universe CA's certificate, which the runner's CA is not).
out=$(in_a $PYC tls 192.0.2.11 443 allowed.test --cafile "$UNIVERSE_CA" --path /e2e)
check "host without endpoint rules: end-to-end TLS with the server's own certificate" \
    'echo "$out" | grep -q "^ok HTTP/1.1 200"' "got '$out'"
out=$(in_a $EPC 192.0.2.11 443 allowed.test "$RCA" "GET / HTTP/1.1\r\nHost: allowed.test\r\n\r\n")
check "host without endpoint rules: the runner's CA does not verify it" \
    'echo "$out" | grep -q "^error handshake"' "got '$out'"

# 9. The upstream's certificate fails verification: 502 naming why, and no
#    request (so no credential) was ever sent to it.
i=0; while [ ! -f "$T/bad.ready" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
out=$(ip netns exec "$Bn" $EPC 192.0.2.10 8443 api.openai.com "$RCA" \
    "GET /v1/models HTTP/1.1\r\nHost: api.openai.com:8443\r\n\r\n")
check "upstream certificate of an unknown CA: 502 naming the verification failure" \
    'echo "$out" | grep -q "^resp 502 .*certificate verify failed"' "got '$out'"
sleep 0.3
check "upstream certificate of an unknown CA: no request was sent to it" \
    'grep -q "^conn" "$T/bad.log" && ! grep -q "^request" "$T/bad.log"' "$(cat "$T/bad.log")"

# 9b. The server resets after 1 MB of a 3 MB body the guest has not read
#     yet: the guest's TLS must not end cleanly (a close_notify would pass
#     a truncated close-delimited body off as whole); what came before the
#     reset is passed on first, all of it, before the reset. (Python names
#     a reset under TLS SSLEOFError or ConnectionResetError; a clean close
#     would be no error at all.)
cat >"$T/rst.py" <<'PYEOF'
import fcntl, socket, ssl, struct, sys, termios, time
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("192.0.2.10", 8444))
s.listen(4)
open(sys.argv[3], "w").write("ready\n")
raw, a = s.accept()
t = ctx.wrap_socket(raw, server_side=True)
buf = b""
while b"\r\n\r\n" not in buf:
    buf += t.recv(65536)
t.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3000000\r\n\r\n" + b"x" * 1000000)
for i in range(300):
    if struct.unpack("i", fcntl.ioctl(t.fileno(), termios.TIOCOUTQ, b"\0" * 4))[0] == 0:
        break
    time.sleep(0.01)
t.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
t.close()	# no close_notify: a reset
PYEOF
UD=$(universe_dir "$U")
ip netns exec "$U-wan" python3 "$T/rst.py" "$UD/leaf.pem" "$UD/leaf.key" "$T/rst.ready" &
RSP=$!
universe_wait_file "$T/rst.ready" ready 5
out=$(ip netns exec "$R-sb3" python3 -c '
import socket, ssl, sys, time
ctx = ssl.create_default_context(cafile=sys.argv[1])
r = socket.socket()
r.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)	# most waits in the proxy
r.settimeout(10)
r.connect(("192.0.2.10", 8444))
c = ctx.wrap_socket(r, server_hostname="api.openai.com", suppress_ragged_eofs=False)
c.sendall(b"GET /big HTTP/1.1\r\nHost: api.openai.com:8444\r\n\r\n")
time.sleep(1.5)
data, end = b"", "eof"
while True:
    try:
        d = c.recv(1 << 20)
    except (OSError, ssl.SSLError) as e:
        end = e.__class__.__name__
        break
    if not d:
        break
    data += d
body = data.split(b"\r\n\r\n", 1)[-1]
print(len(body), end)' "$RCA" 2>&1)
kill $RSP 2>/dev/null; wait $RSP 2>/dev/null
check "upstream reset inside a body: every byte before it, then an error, never a clean close" \
    '[ "$out" = "1000000 ConnectionResetError" ] || [ "$out" = "1000000 SSLEOFError" ]' "got '$out'"

# 10. The audit: a request event per denied request, with method, path and
#     rule; close events say intercepted, with the count of allowed requests
#     (the keep-alive connection of 4.: 2).
sleep 0.5
check "audit: the denied DELETE with method, path and rule" \
    'grep "\"event\":\"request\"" "$T/audit" | grep "\"method\":\"DELETE\"" | grep "\"path\":\"/v1/admin/users/7\"" | grep -q "deny DELETE /v1/admin/\*"' \
    "$(grep request "$T/audit" | head -3)"
check "audit: close events of intercepted connections count their requests" \
    'grep "\"event\":\"close\"" "$T/audit" | grep -q "\"intercepted\":true.*\"requests\":2\|\"requests\":2.*\"intercepted\":true"' \
    "$(grep '"close"' "$T/audit" | head -3)"
check "audit: the secret is nowhere in it" '! grep -q "$SECRET" "$T/audit"' "found"
check "the secret is stored 0600 in a 0700 dir" \
    '[ "$(stat -c %a "$T/state/secrets")" = 700 ] && [ "$(stat -c %a "$T/state/secrets/openai")" = 600 ]' \
    "$(ls -la "$T/state/secrets")"

c stats
check "pxtool still alive" 'echo "$r" | grep -q "^stats"' "got '$r'"
# A clean stop: every connection, TLS object, session and leaf freed (under
# ASan a leak or a bad access makes the exit status non-zero).
echo quit >&3
exec 3>&-
wait "$PXPID"
prc=$?
PXPID=''
check "pxtool stops cleanly (exit 0, no sanitizer report)" \
    '[ $prc = 0 ] && ! grep -q "Sanitizer" "$T/audit"' \
    "exit $prc; $(grep -m3 -A3 Sanitizer "$T/audit")"
exit 0
