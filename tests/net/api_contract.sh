#!/bin/sh
# api_contract.sh - every endpoint of isorund's API, its success and its
# error paths, the TCP listener and its token, the CLI commands that use
# the API, and api/openapi.json checked against what the server answered.
TEST=api_contract
. "$(dirname "$0")/api_lib.sub"

TCP=127.0.0.1:18420
TOKEN=tok-0123456789abcdef-$$
umask 077
printf '%s\n' "$TOKEN" >"$T/token"
printf 'short\n' >"$T/token.short"
printf '%s\n' "$TOKEN" >"$T/token.open"
chmod 644 "$T/token.open"
umask 022

# Refusals at startup: TCP needs a token file nobody else can read.
out=$(d --listen $TCP --token-file "$T/none" 2>&1)
rc=$?
check "TCP without a token file: refused at startup" \
    '[ $rc != 0 ] && echo "$out" | grep -q "needs token_file.*$T/none"' "exit $rc: $out"
out=$(d --listen $TCP --token-file "$T/token.open" 2>&1)
rc=$?
check "TCP with a token file others can read: refused" \
    '[ $rc != 0 ] && echo "$out" | grep -q "chmod 600"' "exit $rc: $out"
out=$(d --listen $TCP --token-file "$T/token.short" 2>&1)
rc=$?
check "TCP with a short token: refused" \
    '[ $rc != 0 ] && echo "$out" | grep -q "want one line of 16"' "exit $rc: $out"
check "... and nothing was created for it" '[ -z "$(runner_left)" ] && [ ! -e "$SOCK" ]' \
    "left: $(runner_left)"
printf 'name = %s\nsockets = /x\n' "$R" >"$T/bad.conf"
out=$($ISORUND --config "$T/bad.conf" --check 2>&1)
rc=$?
check "a bad config file: exit 2 naming the file, line and key" \
    '[ $rc = 2 ] && echo "$out" | grep -q "bad.conf:2: unknown key .sockets."' "exit $rc: $out"
printf 'name = %s\nmax_sandboxes = 7\n# a comment\nlisten = ""\n' "$R" >"$T/good.conf"
out=$($ISORUND --config "$T/good.conf" --max-sandboxes 9 --check 2>&1)
check "--check: the file, then the flags over it" \
    'echo "$out" | grep -q "^max_sandboxes = 9$" && echo "$out" | grep -q "^name = $R$"' "$out"
sed 's/^# \([a-z_0-9]* = \)/\1/' etc/isorund.conf >"$T/example.conf"
: >"$T/empty.conf"
$ISORUND --config "$T/example.conf" --check >"$T/o1" 2>&1
$ISORUND --config "$T/empty.conf" --check >"$T/o2" 2>&1
check "etc/isorund.conf documents every key, with the defaults" \
    'cmp -s "$T/o1" "$T/o2" && [ "$(grep -c "^[a-z_0-9]* = " "$T/example.conf")" = "$(wc -l <"$T/o2")" ]' \
    "$(diff "$T/o1" "$T/o2" | head -5)"
out=$($ISORUND --bogus 2>&1)
rc=$?
check "isorund: an unknown flag is a usage error" '[ $rc = 2 ]' "exit $rc: $out"
check "isorund --help lists every key as a flag" \
    '$ISORUND --help | grep -q -- "--exec-timeout-ms MS" && $ISORUND --help | grep -q -- "--token-file PATH"' \
    "$($ISORUND --help | head -3)"

d_start --listen $TCP --token-file "$T/token" --max-sandboxes 3 \
    --max-body-bytes 65536 --exec-timeout-ms 20000 --output-max-bytes 4096 ||
    { nok start "isorund did not start"; exit 1; }
check "the socket is 0660, group root" \
    '[ "$(stat -c %a:%G "$SOCK")" = 660:root ]' "$(stat -c %a:%G "$SOCK")"

api GET /healthz
check "GET /healthz: 200" '[ "$ST" = 200 ] && [ "$(jv status)" = ok ] && [ "$(jv runner)" = "$R" ]' \
    "$ST $(cat "$BODYF")"

# TCP: the bearer token.
API_TCP=$TCP api GET /healthz
errcheck "TCP without a token: 401" 401 unauthenticated "Authorization"
check "... with WWW-Authenticate: Bearer" 'hdr WWW-Authenticate | grep -q "^Bearer"' \
    "$(cat "$T/ex/$NEX.head")"
API_TCP=$TCP api GET /v1/sandboxes - -H "Authorization: Bearer ${TOKEN}x"
errcheck "TCP with a wrong token: 401" 401 unauthenticated "not this runner's"
API_TCP=$TCP api GET /v1/sandboxes - -H "Authorization: Bearer $(echo "$TOKEN" | cut -c1-20)"
errcheck "TCP with a prefix of the token: 401" 401 unauthenticated "not this runner's"
API_TCP=$TCP api POST /v1/sandboxes '{"image":' -H "Authorization: Bearer wrong"
errcheck "TCP: the token is checked before anything else" 401 unauthenticated ""
API_TCP=$TCP api GET /healthz - -H "Authorization: Bearer $TOKEN"
check "TCP with the token: 200" '[ "$ST" = 200 ]' "$ST $(cat "$BODYF")"

# Profiles: the live catalogue, the same JSON as `isorun profiles --json`.
api GET /v1/network-profiles
$ISORUN profiles --json --profiles-dir "$T/profiles" >"$T/cli-profiles.json"
check "GET /v1/network-profiles: the JSON of isorun profiles --json" \
    'python3 -c "import json,sys; sys.exit(json.load(open(sys.argv[1])) != json.load(open(sys.argv[2])))" "$BODYF" "$T/cli-profiles.json"' \
    "$(head -c 200 "$BODYF")"
cat >"$T/profiles/later.json" <<'EOF'
{ "name": "later", "deny": ["*"] }
EOF
api GET /v1/network-profiles
check "a profile file added later shows up without a restart" \
    'grep -q "{\"name\":\"later\"" "$BODYF"' "$(head -c 300 "$BODYF")"

# Create: every refusal names what is wrong.
api POST /v1/sandboxes '{"image": "host",'
errcheck "create, bad JSON: 400 with line and column" 400 invalid_json "at line 1 column"
api POST /v1/sandboxes '["host"]'
errcheck "create, not an object: 400" 400 invalid_json "want a JSON object"
api POST /v1/sandboxes '{"imagee":"host"}'
errcheck "create, unknown field: 400 naming it" 400 invalid_argument "unknown field 'imagee'"
api POST /v1/sandboxes '{"network":{"allow":["a.com"],"denny":[]}}'
errcheck "create, unknown nested field: 400" 400 invalid_argument "network.'denny'"
api POST /v1/sandboxes '{"network":{"allow":["a.com"]},"networkProfile":"openai"}'
errcheck "create, network and networkProfile: 400" 400 invalid_argument \
    "networkProfile and network are mutually exclusive"
api POST /v1/sandboxes '{"networkProfile":"no-such"}'
errcheck "create, unknown profile: 400" 400 invalid_argument "networkProfile 'no-such': no such profile"
api POST /v1/sandboxes '{"network":{"deny":["0.0.0.0/0"],"allow":["ok.com","*foo.com"]}}'
errcheck "create, bad rule: 400 naming it" 400 invalid_argument \
    "network.allow[1] '*foo.com': '*' must be a whole label"
api POST /v1/sandboxes '{"network":{"deny":["10.0.0.1/8"]}}'
errcheck "create, CIDR with host bits: 400 suggesting the prefix" 400 invalid_argument "10.0.0.0/8"
api POST /v1/sandboxes '{"timeoutMs":"10"}'
errcheck "create, timeoutMs a string: 400" 400 invalid_argument "timeoutMs: want an integer"
api POST /v1/sandboxes '{"env":{"A B":"x"}}'
errcheck "create, bad env name: 400" 400 invalid_argument "env: variable name 'A B'"
api POST /v1/sandboxes '{"id":"../x"}'
errcheck "create, bad id: 400" 400 invalid_argument "id '../x'"
api POST /v1/sandboxes '{"image":"no-such-image"}'
errcheck "create, unknown image: 400 saying how to import" 400 invalid_argument "import"
api POST /v1/sandboxes '{}' -H 'Content-Type: text/plain'
errcheck "create, text/plain: 415" 415 unsupported_media_type "Content-Type 'text/plain'"
python3 -c 'import json; print(json.dumps({"env": {"A": "x" * 70000}}))' >"$T/big.json"
api POST /v1/sandboxes - --data-binary @"$T/big.json" -H 'Content-Type: application/json'
errcheck "create, a body over max_body_bytes: 413" 413 payload_too_large "65536"
check "... refused without reading it (Connection: close)" 'hdr Connection | grep -qi close' \
    "$(cat "$T/ex/$NEX.head")"
api POST /v1/sandboxes - -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' \
    --data-binary @"$T/big.json"
errcheck "create, a chunked body over the limit: 413" 413 payload_too_large "65536"
check "none of these made a sandbox" '[ "$(runner_left)" = "$R-gw " ]' "left: $(runner_left)"

# Create, get, list.
api POST /v1/sandboxes '{"id":"c1","networkProfile":"team-apis","env":{"GREETING":"hi there"}}'
check "create: 201 with the sandbox" \
    '[ "$ST" = 201 ] && [ "$(jv id)" = c1 ] && [ "$(jv networkProfile)" = team-apis ] && [ "$(jv state)" = running ]' \
    "$ST $(cat "$BODYF")"
check "... and a Location header" '[ "$(hdr Location)" = /v1/sandboxes/c1 ]' "$(hdr Location)"
check "... its namespace is one of the runner's slots" \
    'runner_left | grep -Eqx "$R-gw $R-sb[0-9]+ "' \
    "left: $(runner_left)"
api POST /v1/sandboxes '{"id":"c1"}'
errcheck "create, the id again: 409" 409 already_exists "'c1' exists already"
api POST /v1/sandboxes ''
C2=$(jv id)
check "create with an empty body: 201, profile unrestricted, an sb- id" \
    '[ "$ST" = 201 ] && [ "$(jv networkProfile)" = unrestricted ] && echo "$C2" | grep -Eq "^sb-[0-9a-f]{12}$"' \
    "$ST $(cat "$BODYF")"
api GET /v1/sandboxes/c1
check "GET a sandbox: 200" '[ "$ST" = 200 ] && [ "$(jv network.allow.0)" = api.example.com ]' \
    "$ST $(cat "$BODYF")"
api GET /v1/sandboxes
check "GET /v1/sandboxes: both, oldest first" \
    '[ "$(jv sandboxes.0.id)" = c1 ] && [ "$(jv sandboxes.1.id)" = "$C2" ]' "$(cat "$BODYF")"
api GET /v1/sandboxes - -G -d x=1
errcheck "a query parameter where none is taken: 400" 400 invalid_argument "unknown query parameter 'x'"
api GET /v1/sandboxes/c1 '{"a":1}'
errcheck "a body where none is taken: 400" 400 invalid_argument "takes none"
api GET /v1/sandboxes/nope
errcheck "GET an unknown sandbox: 404" 404 not_found "no sandbox 'nope'"
api PATCH /v1/sandboxes/c1
errcheck "PATCH: 405" 405 method_not_allowed "PATCH"
check "... with an Allow header" '[ "$(hdr Allow)" = "GET, DELETE" ]' "$(hdr Allow)"
api GET /v2/sandboxes
errcheck "an unknown path: 404" 404 not_found "no such endpoint"

# Exec.
api POST /v1/sandboxes/c1/exec '{"cmd":["sh","-c","cat; echo \"$GREETING/$X\"; pwd"],"env":{"X":"y"},"cwd":"/tmp","stdin":"from stdin\n"}'
check "exec argv with stdin, env, cwd" \
    '[ "$ST" = 200 ] && [ "$(jv stdout)" = "$(printf "from stdin\nhi there/y\n/tmp")" ] && [ "$(jv exitCode)" = 0 ]' \
    "$ST $(cat "$BODYF")"
sbexec c1 'echo out; echo err >&2; exit 3'
check "exec a shell line: exit code and both streams" \
    '[ "$(jv exitCode)" = 3 ] && [ "$(jv stdout)" = out ] && [ "$(jv stderr)" = err ] && [ "$(jv timedOut)" = false ]' \
    "$(cat "$BODYF")"
sbexec c1 'echo kept > /root/f; (sleep 300 &) ; true'
sbexec c1 'cat /root/f; pgrep -c sleep'
check "files and background processes persist between execs" \
    '[ "$(jv stdout)" = "$(printf "kept\n1")" ]' "$(cat "$BODYF")"
api POST /v1/sandboxes/c1/exec '{"cmd":"sleep 10","timeoutMs":500}'
check "exec timeoutMs: killed, timedOut, 128+9" \
    '[ "$(jv timedOut)" = true ] && [ "$(jv exitCode)" = 137 ] && [ "$(jv durationMs)" -lt 3000 ]' \
    "$(cat "$BODYF")"
sbexec c1 'head -c 10000 /dev/zero | tr "\0" a'
check "output over output_max_bytes: cut, and said so" \
    '[ "$(jv stdoutTruncated)" = true ] && [ "$(jv stdout | wc -c)" = 4097 ]' \
    "$(jv stdoutTruncated) $(jv stdout | wc -c)"
sbexec c1 'printf "a\377b\000c"'
check "output that is not UTF-8: U+FFFD for each bad byte" \
    '[ "$(jv stdout)" = "$(printf "a\357\277\275b\357\277\275c")" ]' "$(cat "$BODYF")"
api POST /v1/sandboxes/c1/exec '{"cmd":"true","timeoutMs":20001}'
errcheck "exec timeoutMs over exec_timeout_ms: 400" 400 invalid_argument "exec_timeout_ms"
api POST /v1/sandboxes/c1/exec '{"cmd":"true","cwd":"/no/such/dir"}'
errcheck "exec in a missing cwd: 400" 400 invalid_argument "/no/such/dir"
api POST /v1/sandboxes/c1/exec '{"argv":["true"]}'
errcheck "exec, unknown field: 400" 400 invalid_argument "unknown field 'argv'"
api POST /v1/sandboxes/c1/exec '{"env":{}}'
errcheck "exec without cmd: 400" 400 invalid_argument "cmd: missing"
api POST /v1/sandboxes/c1/exec ''
errcheck "exec with no body: 400" 400 invalid_json "body: empty"
api POST /v1/sandboxes/c1/exec 'cmd=ls' -H 'Content-Type: application/x-www-form-urlencoded'
errcheck "exec, a form body: 415" 415 unsupported_media_type "want application/json"
api POST /v1/sandboxes/nope/exec '{"cmd":"true"}'
errcheck "exec in an unknown sandbox: 404" 404 not_found "no sandbox 'nope'"

# Network: live changes.
api PUT /v1/sandboxes/c1/network '{"networkProfile":"locked-down"}'
check "PUT network: profile locked-down" \
    '[ "$ST" = 200 ] && [ "$(jv networkMode)" = deny-all ] && [ "$(jv networkProfile)" = locked-down ]' \
    "$ST $(cat "$BODYF")"
api PUT /v1/sandboxes/c1/network '{}'
errcheck "PUT network with neither: 400" 400 invalid_argument "want network"
api PUT /v1/sandboxes/c1/network '{"network":{},"networkProfile":"openai"}'
errcheck "PUT network with both: 400" 400 invalid_argument "mutually exclusive"
api PUT /v1/sandboxes/c1/network '{"network":{"allow":["a..b"]}}'
errcheck "PUT network, bad rule: 400 naming it" 400 invalid_argument "network.allow[0] 'a..b'"
api PUT /v1/sandboxes/c1/network '{"networkProfile":"nope"}'
errcheck "PUT network, unknown profile: 400" 400 invalid_argument "no such profile"
api PUT /v1/sandboxes/nope/network '{"networkProfile":"openai"}'
errcheck "PUT network of an unknown sandbox: 404" 404 not_found "no sandbox 'nope'"
api GET /v1/sandboxes/c1
check "a refused change left the policy alone" '[ "$(jv networkProfile)" = locked-down ]' \
    "$(cat "$BODYF")"

# Audit: a blocked attempt of c1 (locked-down), then the trail.
sbexec c1 'curl -sS -m 2 http://192.0.2.12/ || true'
sleep 1.2	# durable within a second
api GET /v1/sandboxes/c1/audit - -G -d verdict=blocked
check "GET audit ?verdict=blocked: the blocked attempt" \
    'grep -q "\"dst\":\"192.0.2.12\",\"dport\":80" "$BODYF" && [ "$(jv events.0.verdict)" = blocked ]' \
    "$ST $(head -c 400 "$BODYF")"
api GET /v1/sandboxes/c1/audit - -G -d verdict=allowed -d since=1h -d limit=5
check "GET audit ?verdict=allowed&since=1h&limit=5: none blocked" \
    '[ "$ST" = 200 ] && ! grep -q "\"verdict\":\"blocked\"" "$BODYF"' "$ST $(head -c 300 "$BODYF")"
api GET /v1/sandboxes/c1/audit - -G -d limit=1
check "GET audit ?limit=1: one event" \
    'python3 -c "import json,sys; sys.exit(len(json.load(open(sys.argv[1]))[\"events\"]) != 1)" "$BODYF"' \
    "$(head -c 300 "$BODYF")"
api GET /v1/sandboxes/c1/audit - -G -d since=soon
errcheck "GET audit ?since=soon: 400" 400 invalid_argument "since 'soon'"
api GET /v1/sandboxes/c1/audit - -G -d verbose=1
errcheck "GET audit, unknown parameter: 400" 400 invalid_argument "unknown query parameter 'verbose'"
api GET /v1/sandboxes/never-was/audit
errcheck "GET audit of an id never seen: 404" 404 not_found "no sandbox 'never-was'"
# follow=1: NDJSON as it happens, until the sandbox goes.
NEX=$((NEX + 1))
curl -sS -N --max-time 15 --unix-socket "$SOCK" -o "$T/ex/$NEX.body" \
    -w '%{http_code}\n%{content_type}' \
    'http://localhost/v1/sandboxes/c1/audit?follow=1&verdict=blocked&since=1s' >"$T/follow.st" &
FP=$!
FN=$NEX
sleep 0.5
sbexec c1 'curl -sS -m 2 http://203.0.113.10:8080/followed || true'
sleep 1.5
api DELETE /v1/sandboxes/c1
t0=$(date +%s)
wait $FP
t=$(( $(date +%s) - t0 ))
printf 'GET\n/v1/sandboxes/c1/audit?follow=1\n%s\n%s\n' "$(head -1 "$T/follow.st")" \
    "$(sed -n 2p "$T/follow.st")" >"$T/ex/$FN.meta"
check "audit follow=1: the new blocked attempt, as NDJSON" \
    'grep -q "\"dst\":\"203.0.113.10\",\"dport\":8080" "$T/ex/$FN.body" && grep -q x-ndjson "$T/follow.st"' \
    "$(cat "$T/follow.st") $(head -c 300 "$T/ex/$FN.body")"
check "audit follow ends when the sandbox is destroyed (${t} s)" '[ $t -le 4 ]' "took $t s"
api GET /v1/sandboxes/c1/audit
check "a destroyed sandbox's trail can still be read" '[ "$ST" = 200 ] && grep -q 203.0.113.10 "$BODYF"' \
    "$ST $(head -c 200 "$BODYF")"
api GET /v1/sandboxes/c1/audit - -G -d follow=1
errcheck "following a destroyed sandbox: 404" 404 not_found "to follow"
api DELETE /v1/sandboxes/c1
errcheck "DELETE a second time: 404" 404 not_found "no sandbox 'c1'"

api GET /metrics
check "GET /metrics: Prometheus text with the API's and the audit's counters" \
    '[ "$ST" = 200 ] && grep -q "^isorund_api_requests_total{route=\"POST /v1/sandboxes\",status=\"201\"}" "$BODYF" && grep -q "^isorun_connections_total" "$BODYF"' \
    "$ST $(head -c 200 "$BODYF")"

# No free slot: 503; a runner failure: 500, leaving nothing behind.
api POST /v1/sandboxes '{"id":"f2"}'
api POST /v1/sandboxes '{"id":"f3"}'
api POST /v1/sandboxes '{"id":"f4"}'
errcheck "create with every slot taken (max_sandboxes 3): 503" 503 unavailable "slots"
api DELETE /v1/sandboxes/f3
mv "$T/run/isorund/sandboxes" "$T/run/isorund/sandboxes.x"
: >"$T/run/isorund/sandboxes"
before=$(runner_left)
api POST /v1/sandboxes '{"id":"f5"}'
errcheck "create when its record cannot be written: 500" 500 internal "f5.json"
check "... and the sandbox it made is gone again" \
    '[ "$(runner_left)" = "$before" ] && [ ! -e "$T/run/sandboxes/f5" ]' \
    "left: $(runner_left) vs $before; $(ls "$T/run/sandboxes")"
rm "$T/run/isorund/sandboxes"
mv "$T/run/isorund/sandboxes.x" "$T/run/isorund/sandboxes"
api DELETE /v1/sandboxes/f2

# A lifetime: destroyed after timeoutMs.
api POST /v1/sandboxes '{"id":"short","timeoutMs":1000}'
check "create with timeoutMs: expiresAt set" '[ "$ST" = 201 ] && jv expiresAt | grep -q Z' \
    "$ST $(cat "$BODYF")"
sleep 2
api GET /v1/sandboxes/short
errcheck "after timeoutMs the sandbox is gone" 404 not_found "'short'"
check "... with its namespace" 'runner_left | grep -Eqx "$R-gw $R-sb[0-9]+ "' \
    "left: $(runner_left)"

# The CLI against the same daemon.
export ISORUN_SOCKET=$SOCK
$ISORUN create --json --id k1 --allow api.example.com --env A=1 --timeout 600 >"$T/o"
check "isorun create --json" '[ "$(jv id "$T/o")" = k1 ] && [ "$(jv expiresAt "$T/o")" != null ]' \
    "$(cat "$T/o")"
check "isorun create prints the id" '[ "$($ISORUN create --profile openai)" != "" ]' "no id"
check "isorun ls: a table with k1" '$ISORUN ls | grep -qE "^k1 +host +running +rules: allow-list, 1 allow, 0 deny"' \
    "$($ISORUN ls)"
check "isorun ls -q: ids" '$ISORUN ls -q | grep -qx k1' "$($ISORUN ls -q)"
check "isorun ls --json: the API's list" '$ISORUN ls --json | grep -q "\"sandboxes\""' \
    "$($ISORUN ls --json | head -3)"
check "isorun inspect: the rules" '$ISORUN inspect k1 | grep -Eq "^allow +api.example.com$"' \
    "$($ISORUN inspect k1)"
$ISORUN exec k1 -- sh -c 'echo $A; exit 5' >"$T/o" 2>"$T/e"
rc=$?
check "isorun exec ID -- CMD: its output and exit code" '[ $rc = 5 ] && [ "$(cat "$T/o")" = 1 ]' \
    "exit $rc: $(cat "$T/o" "$T/e")"
check "isorun exec ID -c LINE" '[ "$($ISORUN exec k1 -c "echo \$((6*7))")" = 42 ]' "no"
check "isorun exec --stdin" '[ "$(echo piped | $ISORUN exec --stdin k1 cat)" = piped ]' "no"
check "isorun exec --json" '$ISORUN exec --json k1 -- true | grep -q "\"exitCode\": 0"' "no"
out=$($ISORUN network set k1 --profile locked-down)
check "isorun network set --profile" '[ "$out" = "k1: profile locked-down" ]' "$out"
out=$($ISORUN network set --json k1 --deny 0.0.0.0/0 --allow pypi.org)
check "isorun network set --json --allow --deny" 'echo "$out" | grep -q "\"networkMode\": \"allow-list\""' "$out"
check "isorun network show" '$ISORUN network show k1 | grep -Eq "^deny +0.0.0.0/0$"' \
    "$($ISORUN network show k1)"
out=$($ISORUN network set k1 --allow '*foo.com' 2>&1)
rc=$?
check "isorun network set, bad rule: exit 2 naming it" \
    '[ $rc = 2 ] && echo "$out" | grep -q "network.allow\[0\] .\*foo.com."' "exit $rc: $out"
out=$($ISORUN destroy k1)
check "isorun destroy prints the id" '[ "$out" = k1 ]' "$out"
out=$($ISORUN destroy k1 2>&1)
rc=$?
check "isorun destroy, unknown: exit 2" '[ $rc = 2 ] && echo "$out" | grep -q "no sandbox .k1."' \
    "exit $rc: $out"
out=$($ISORUN inspect k1 2>&1)
rc=$?
check "isorun inspect, unknown: exit 2" '[ $rc = 2 ]' "exit $rc: $out"
out=$($ISORUN ls --socket "$T/nothing" 2>&1)
rc=$?
check "isorun ls, no daemon: exit 1 saying where it looked" \
    '[ $rc = 1 ] && echo "$out" | grep -q "$T/nothing"' "exit $rc: $out"
out=$(ISORUN_SOCKET= ISORUN_URL=http://$TCP ISORUN_API_KEY=$TOKEN \
    nsenter --net=/run/netns/"$U-host" $ISORUN ls -q 2>&1)
check "the CLI over TCP with ISORUN_URL and ISORUN_API_KEY" \
    'echo "$out" | grep -Eq "^sb-"' "$out"
out=$(ISORUN_SOCKET= ISORUN_URL=http://$TCP ISORUN_API_KEY=nope \
    nsenter --net=/run/netns/"$U-host" $ISORUN ls 2>&1)
rc=$?
check "... a wrong key: exit 2 with the API's message" \
    '[ $rc = 2 ] && echo "$out" | grep -q "not this runner"' "exit $rc: $out"
for c in create exec destroy ls inspect network; do
	$ISORUN $c --help >"$T/o" 2>&1
	rc=$?
	check "isorun $c --help" '[ $rc = 0 ] && grep -q "^usage: isorun $c" "$T/o"' \
	    "exit $rc: $(head -2 "$T/o")"
done
for args in "create --timeout x" "create --bogus" "create extra" "exec" \
    "exec k1" "exec k1 -c" "exec bad/id true" "destroy" "ls extra" "inspect" \
    "inspect a b" "network" "network set k1" "network frob k1" \
    "network show --allow x k1" "create --profile a --allow b"; do
	$ISORUN $args >"$T/o" 2>&1
	rc=$?
	check "isorun $args: usage error, exit 2" '[ $rc = 2 ]' "exit $rc: $(head -2 "$T/o")"
done
unset ISORUN_SOCKET

# Secrets: set (201, then 204), names only, delete (204, then 404).
SV="contract-value-$$"
API_CT=application/octet-stream api PUT /v1/secrets/contract-k "$SV"
check "PUT /v1/secrets/{name}: 201 created" '[ "$ST" = 201 ] && [ ! -s "$BODYF" ]' \
    "$ST $(cat "$BODYF")"
API_CT="text/plain; charset=utf-8" api PUT /v1/secrets/contract-k "$SV-2"
check "... again: 204 replaced" '[ "$ST" = 204 ]' "$ST $(cat "$BODYF")"
api GET /v1/secrets
check "GET /v1/secrets: names only" \
    '[ "$ST" = 200 ] && [ "$(jv secrets)" = "[{\"name\": \"contract-k\"}]" ]' \
    "$ST $(cat "$BODYF")"
# Endpoints changed live (PUT /v1/sandboxes/{id}/endpoints).
api POST /v1/sandboxes '{"id":"cep","network":{"allow":["api.example.com"]},"endpoints":[{"host":"api.example.com","credentials":["X-K: ${secret:contract-k}"]}]}'
check "create with endpoints: 201" '[ "$ST" = 201 ]' "$ST $(cat "$BODYF")"
api PUT /v1/sandboxes/cep/endpoints '{"endpoints":[{"host":"api.example.com","rules":[{"method":"GET","path":"/v1/*","action":"allow"}],"default":"deny"}]}'
check "PUT .../endpoints: 200, the sandbox with them" \
    '[ "$ST" = 200 ] && [ "$(jv endpoints.0.rules.0.path)" = "/v1/*" ]' "$ST $(cat "$BODYF")"
api PUT /v1/sandboxes/cep/endpoints '{"endpoints":{}}'
errcheck "PUT .../endpoints not an array: 400" 400 invalid_argument "endpoints: want an array"
api PUT /v1/sandboxes/cep/endpoints '{"endpoints":[]}'
check "PUT .../endpoints []: 200, none" '[ "$ST" = 200 ] && [ "$(jv endpoints)" = "[]" ]' \
    "$ST $(cat "$BODYF")"
api DELETE /v1/sandboxes/cep
api PUT /v1/secrets/contract-k '"x"'
errcheck "PUT a secret as JSON: 415" 415 unsupported_media_type \
    "want application/octet-stream"
API_CT=application/octet-stream api PUT /v1/secrets/.k v
errcheck "PUT a secret with a bad name: 400" 400 invalid_argument \
    "secret name '.k': must start with"
API_CT=application/octet-stream api PUT /v1/secrets/k ''
errcheck "PUT an empty secret: 400" 400 invalid_argument "the value is empty"
api DELETE /v1/secrets/contract-k
check "DELETE /v1/secrets/{name}: 204" '[ "$ST" = 204 ]' "$ST $(cat "$BODYF")"
api DELETE /v1/secrets/contract-k
errcheck "DELETE it again: 404" 404 not_found "secret 'contract-k' is not set"
check "no answer held a value" '! grep -rq "$SV" "$T/ex"' \
    "$(grep -rl "$SV" "$T/ex" | head -3)"

d_stop
check "SIGTERM: exit 0 (no leak under ASan)" '[ "$DRC" = 0 ]' "exit $DRC: $(tail -5 "$T/daemon.log")"
check "... the socket is removed" '[ ! -e "$SOCK" ]' "it is there"

# Without an audit store the audit route says so.
d_start --audit-db "" || { nok start "isorund did not start again"; exit 1; }
api GET /v1/sandboxes/any/audit
errcheck "GET audit with audit_db \"\": 501" 501 not_implemented "audit store is off"
d_stop
check "SIGTERM again: exit 0" '[ "$DRC" = 0 ]' "exit $DRC: $(tail -5 "$T/daemon.log")"

# The OpenAPI document against what was answered.
$ISORUND --routes >"$T/routes"
$CHK openapi api/openapi.json "$T/routes" "$T/ex" | sed "s/^\(not \)\{0,1\}ok - /&$TEST: /"
exit 0
