#!/bin/sh
# endpoints.sh - endpoint rules and credential injection end to end (issue 9):
# isorund in the closed universe, a sandbox created through the CLI with the
# seeds' shape (an allow-list on api.openai.com, an Authorization header
# from a runner-held secret), ordinary tools inside it (curl, Python), and
# every verdict judged by what the wan server received (it records each
# request's header fields) and by the audit store.
TEST=endpoints
. "$(dirname "$0")/api_lib.sub"

WLOG=$(universe_wan_log "$U")
SECRET=sk-proj-Q7x2v9LmZ0c4   # must never be readable inside the sandbox
d_start --ca-file "$UNIVERSE_CA" || { nok start "isorund did not start"; exit 1; }
export ISORUN_SOCKET=$SOCK

printf '%s\n' "$SECRET" | $ISORUN secret set openai
check "isorun secret set openai" '[ $? = 0 ] && $ISORUN secret ls | grep -qx openai' \
    "$($ISORUN secret ls 2>&1)"
cat >"$T/ep.json" <<'EOF'
[ { "host": "api.openai.com",
    "rules": [ { "method": "POST", "path": "/v1/chat/completions", "action": "allow" },
               { "method": "GET",  "path": "/v1/models",           "action": "allow" },
               { "method": "DELETE", "path": "/v1/admin/*",        "action": "deny" } ],
    "credentials": [ "Authorization: Bearer ${secret:openai}" ] } ]
EOF
$ISORUN create --id ep1 --deny 0.0.0.0/0 --allow api.openai.com --allow pypi.org \
    --endpoints "$T/ep.json" >"$T/o" 2>&1
check "create with the seeds' shape and endpoints" '[ "$(cat "$T/o")" = ep1 ]' "$(cat "$T/o")"
$ISORUN create --id plain --deny 0.0.0.0/0 --allow api.openai.com >"$T/o" 2>&1
check "create a sandbox without endpoints" '[ "$(cat "$T/o")" = plain ]' "$(cat "$T/o")"

# x ID CMD: exec in the sandbox; output in $T/x, status in $XRC.
x() { $ISORUN exec "$1" -- sh -c "$2" >"$T/x" 2>&1; XRC=$?; }

# 1. curl, with no flag: the sandbox's bundle trusts the runner's CA; the
#    allowed request reaches the server with the injected credential.
universe_logs_reset "$U"
x ep1 'curl -sS -m 10 -H "Authorization: Bearer guest-own" https://api.openai.com/v1/models'
check "curl: an allowed request passes (200 from the server)" \
    '[ $XRC = 0 ] && grep -q "path=/v1/models" "$T/x"' "rc=$XRC $(head -c 300 "$T/x")"
universe_wait_log "$U" '"target":"/v1/models"' 3
line=$(grep '"target":"/v1/models"' "$WLOG")
check "the server got the runner's credential, not the guest's" \
    'echo "$line" | grep -q "\"Authorization\",\"Bearer $SECRET\"" && ! echo "$line" | grep -q guest-own' \
    "$line"

# 2. A denied request: 403 JSON naming the rule, never sent upstream.
x ep1 'curl -sS -m 10 -X DELETE https://api.openai.com/v1/admin/users/1; echo; curl -sS -m 10 -o /dev/null -w "%{http_code}" -X PUT https://api.openai.com/v1/models'
check "curl: DELETE /v1/admin/users/1 gets 403 naming the deny rule" \
    'grep -q "\"error\":\"endpoint_denied\"" "$T/x" && grep -q "\"rule\":\"deny DELETE /v1/admin/\*\"" "$T/x"' \
    "$(head -c 400 "$T/x")"
check "curl: PUT /v1/models falls to the allow-list's default (403)" \
    'tail -n 1 "$T/x" | grep -qx 403' "$(tail -n 1 "$T/x")"
sleep 0.3
check "neither denied request reached the server" \
    '! grep -q "/v1/admin\|\"PUT\"" "$WLOG"' "$(grep -c . "$WLOG") lines"

# 3. Python (urllib, the sandbox's SSL_CERT_FILE): a POST passes; then the
#    process looks for the secret in everything it can read: its
#    environment, the response, the files of the sandbox, and the memory of
#    every process it can see.
cat >"$T/probe.py" <<'EOF'
import os, sys, urllib.request
# The needle comes hex-encoded and reversed, so that no other process (the
# shell that started this one) holds it; this process skips itself.
secret = bytes.fromhex(sys.argv[1][::-1])
req = urllib.request.Request("https://api.openai.com/v1/chat/completions",
                             data=b'{"model":"x"}', method="POST",
                             headers={"Content-Type": "application/json"})
body = urllib.request.urlopen(req, timeout=10).read()
print("status-ok" if b"path=/v1/chat/completions" in body else "bad-body %r" % body[:80])
found = []
if secret in b"\0".join(k.encode() + b"=" + v.encode() for k, v in os.environ.items()):
    found.append("environ")
if secret in body:
    found.append("response")
for top in ("/etc", "/tmp", "/root", "/home", "/run", "/var/tmp"):
    for d, _, files in os.walk(top):
        for f in files:
            try:
                with open(os.path.join(d, f), "rb") as fh:
                    if secret in fh.read(1 << 20):
                        found.append(os.path.join(d, f))
            except OSError:
                pass
canary = os.environ.get("CANARY", "").encode()
canary_seen = False
pids = [p for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]
scanned = 0
for p in pids:
    try:
        maps = open("/proc/%s/maps" % p).read().splitlines()
        mem = open("/proc/%s/mem" % p, "rb")
    except OSError:
        continue
    for m in maps:
        a, b = (int(x, 16) for x in m.split()[0].split("-"))
        if "r" not in m.split()[1] or b - a > (256 << 20):
            continue
        try:
            mem.seek(a)
            data = mem.read(b - a)
            if secret in data:
                found.append("mem:%s" % p)
            # the control: the same search finds what is there
            canary_seen = canary_seen or (canary and canary in data)
            scanned += 1
        except (OSError, ValueError, OverflowError):
            pass
print("scanned %d regions of %d processes" % (scanned, len(pids)))
print("found " + (",".join(found) if found else "nothing"))
print("canary " + ("seen" if canary_seen else "missed"))
EOF
x ep1 "CANARY=canary-83f1 python3 - '$(printf %s "$SECRET" | od -An -tx1 | tr -d ' \n' | rev)' <<'PYEOF'
$(cat "$T/probe.py")
PYEOF"
check "Python: an allowed POST passes" 'grep -q "^status-ok" "$T/x"' "$(head -c 400 "$T/x")"
check "the secret is nowhere the guest can read (env, files, memory, responses)" \
    'grep -q "^found nothing" "$T/x" && grep -Eq "^scanned [1-9][0-9]* regions" "$T/x" && grep -q "^canary seen" "$T/x"' \
    "$(tail -n 3 "$T/x")"
universe_wait_log "$U" '"target":"/v1/chat/completions"' 3
check "Python's POST arrived with the credential" \
    'grep "\"target\":\"/v1/chat/completions\"" "$WLOG" | grep -q "Bearer $SECRET"' "not in the wan log"

# 3b. Node (NODE_EXTRA_CA_CERTS) and git (GIT_SSL_CAINFO) trust the CA too:
#     node's GET passes, git's smart-HTTP discovery (a path no rule allows)
#     is denied by the rules, not by a certificate error.
universe_logs_reset "$U"
x ep1 'node -e "require(\"https\").get(\"https://api.openai.com/v1/models\", r => { console.log(\"status\", r.statusCode); r.resume(); }).on(\"error\", e => console.log(\"error\", e.message))"'
check "Node: an allowed GET passes with the sandbox's CA variables" \
    'grep -q "^status 200" "$T/x"' "$(head -c 300 "$T/x")"
x ep1 'git ls-remote https://api.openai.com/v1/repo.git 2>&1'
check "git: TLS verifies; the request is judged by the rules (403)" \
    'grep -q "403" "$T/x" && ! grep -qi "certificate" "$T/x"' "$(head -c 300 "$T/x")"

# 4. Interception is for endpoint hosts only: the sandbox without endpoints
#    talks TLS end to end (the server's own certificate), and no credential
#    is added to its requests.
x plain 'openssl s_client -connect api.openai.com:443 -servername api.openai.com </dev/null 2>/dev/null | grep -m1 "^issuer"'
check "no endpoint rules: the server's own certificate (no interception)" \
    '! grep -q "isorun runner CA" "$T/x" && grep -q "^issuer" "$T/x"' "$(cat "$T/x")"
x ep1 'openssl s_client -connect api.openai.com:443 -servername api.openai.com </dev/null 2>/dev/null | grep -m1 "^issuer"'
check "with endpoint rules: the runner's CA issued what the guest sees" \
    'grep -q "isorun runner CA" "$T/x"' "$(cat "$T/x")"
universe_logs_reset "$U"
x plain 'curl -sS -m 10 https://api.openai.com/v1/models'
universe_wait_log "$U" '"target":"/v1/models"' 3
check "no endpoint rules: the request arrives without any credential" \
    '[ $XRC = 0 ] && grep "\"target\":\"/v1/models\"" "$WLOG" | grep -vq Authorization' \
    "rc=$XRC $(grep /v1/models "$WLOG")"

# 5. Plain HTTP to the endpoint host would dodge the rules: blocked.
universe_logs_reset "$U"
x ep1 'curl -sS -m 5 http://api.openai.com/v1/models'
check "plain HTTP to an endpoint host: blocked (rule endpoint)" \
    'grep -q "rule endpoint" "$T/x"' "$(head -c 300 "$T/x")"
sleep 0.3
check "plain HTTP: nothing reached the server" '! grep -q "/v1/models" "$WLOG"' "$(cat "$WLOG")"

# 6. The audit: the denied requests with method, path and rule.
sleep 1.2
$ISORUN audit ep1 --db "$T/audit.db" --verdict blocked --json >"$T/a" 2>&1
check "audit: the denied DELETE with method, path and rule" \
    'grep "\"method\":\"DELETE\"" "$T/a" | grep "\"path\":\"/v1/admin/users/1\"" | grep -q "deny DELETE /v1/admin/\*"' \
    "$(head -c 600 "$T/a")"
$ISORUN audit ep1 --db "$T/audit.db" --json >"$T/a" 2>&1
check "audit: intercepted connections' close events" \
    'grep -q "\"intercepted\":true" "$T/a"' "$(grep -c . "$T/a") events"
check "audit: the secret is nowhere in it, nor in the daemon's log" \
    '! grep -q "$SECRET" "$T/a" "$T/daemon.log" && ! grep -aq "$SECRET" "$T/audit.db"*' "found"

# 7. Live changes of the rules (isorun endpoints set), on a connection held
#    open across the change: ka.py sends GET /v1/models, says so in
#    /tmp/ka.1, waits for /tmp/ka.go, then sends it again on the same
#    connection. It prints each answer's status (or the error) and who
#    issued the certificate it saw.
cat >"$T/ka.py" <<'EOF'
import http.client, os, ssl, time
c = http.client.HTTPSConnection("api.openai.com", timeout=10,
                                context=ssl.create_default_context())
out = []
for i in range(2):
    try:
        c.request("GET", "/v1/models")
        r = c.getresponse()
        r.read()
        out.append(str(r.status))
    except Exception as e:
        out.append("error:" + e.__class__.__name__)
    if i == 0:
        iss = dict(x[0] for x in c.sock.getpeercert()["issuer"])
        out.append("ca" if "runner CA" in iss.get("commonName", "") else "e2e")
        open("/tmp/ka.1", "w").write("1")
        for _ in range(150):
            if os.path.exists("/tmp/ka.go"):
                break
            time.sleep(0.1)
print(" ".join(out))
EOF
# live RULESFILE: runs ka.py in ep1, sets RULESFILE between its requests;
# its output in $T/ka, the set's in $T/kaset.
live() {
	$ISORUN exec ep1 -- rm -f /tmp/ka.1 /tmp/ka.go >/dev/null 2>&1
	$ISORUN exec ep1 -- sh -c "python3 - <<'PYEOF'
$(cat "$T/ka.py")
PYEOF" >"$T/ka" 2>&1 &
	_p=$!
	_n=0
	until $ISORUN exec ep1 -- test -e /tmp/ka.1 >/dev/null 2>&1 || [ $_n -ge 75 ]; do
		sleep 0.2
		_n=$((_n + 1))
	done
	$ISORUN endpoints set ep1 "$1" >"$T/kaset" 2>&1
	$ISORUN exec ep1 -- touch /tmp/ka.go >/dev/null 2>&1
	wait $_p
}
cat >"$T/ep-deny.json" <<'EOF'
[ { "host": "api.openai.com",
    "rules": [ { "method": "GET", "path": "/v1/models", "action": "deny" },
               { "method": "POST", "path": "/v1/chat/completions", "action": "allow" } ],
    "credentials": [ "Authorization: Bearer ${secret:openai}" ] } ]
EOF
universe_logs_reset "$U"
live "$T/ep-deny.json"
sleep 0.3
check "live change: the next request on an open connection follows the new rules (200, then 403)" \
    '[ "$(cat "$T/ka")" = "200 ca 403" ] && grep -q "^ep1: 1 endpoint host" "$T/kaset"' \
    "got '$(cat "$T/ka")', set: $(cat "$T/kaset")"
check "... the denied one never reached the server" \
    '[ "$(grep -c "\"target\":\"/v1/models\"" "$WLOG")" = 1 ]' "$(grep -c /v1/models "$WLOG") arrived"
printf '[]' >"$T/ep-none.json"
$ISORUN endpoints set ep1 "$T/ep-none.json" >"$T/kanone" 2>&1
universe_logs_reset "$U"
live "$T/ep.json"
check "rules removed: end to end again; set again: that open connection is closed" \
    'case "$(cat "$T/ka")" in "200 e2e error:"*) true;; *) false;; esac' "got '$(cat "$T/ka")', set []: $(cat "$T/kanone")"
universe_wait_log "$U" '"target":"/v1/models"' 3
check "... the end-to-end request carried no credential" \
    '[ "$(grep -c "\"target\":\"/v1/models\"" "$WLOG")" = 1 ] && ! grep "\"target\":\"/v1/models\"" "$WLOG" | grep -q Authorization' \
    "$(grep /v1/models "$WLOG")"
universe_logs_reset "$U"
x ep1 'curl -sS -m 10 https://api.openai.com/v1/models'
universe_wait_log "$U" '"target":"/v1/models"' 3
check "... a new connection is intercepted again, the credential injected" \
    '[ $XRC = 0 ] && grep "\"target\":\"/v1/models\"" "$WLOG" | grep -q "Bearer $SECRET"' \
    "rc=$XRC $(grep /v1/models "$WLOG")"
$ISORUN endpoints set plain "$T/ep.json" >"$T/o" 2>&1
rc=$?
check "endpoints set on a sandbox created without them: exit 2, saying why" \
    '[ $rc = 2 ] && grep -q "created without endpoints" "$T/o"' "exit $rc: $(cat "$T/o")"

$ISORUN destroy ep1 plain >/dev/null 2>&1
exit 0
