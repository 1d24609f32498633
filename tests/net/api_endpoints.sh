#!/bin/sh
# api_endpoints.sh - endpoint rules and secrets wired through isorund, its
# API and the CLI (docs/endpoints.md "Wiring"): secrets set, listed and
# removed (values never in an answer, the log, the audit store or a
# sandbox; stored 0600 in a 0700 dir); create with endpoints and every
# create-time error (nothing left behind); a live policy change that
# would block an endpoint host refused; the runner's CA in the bundle of a
# sandbox with endpoints only; endpoints kept across a crash and restart;
# `isorun run --endpoints` with an embedded runner. The interception data
# path is tests/net/intercept.sh's.
TEST=api_endpoints
. "$(dirname "$0")/api_lib.sub"

SV1="sk-live-$$-A1b2C3d4E5"	# values that must never show anywhere
SV2="org-$$-Z9y8X7"
SD=$T/state
BUNDLE=/etc/ssl/certs/ca-certificates.crt

# A store or a CA that cannot be used: isorund does not start, and says
# which path.
mkdir -p "$T/bad1/secrets" "$T/bad2/ca"
chmod 755 "$T/bad1/secrets"
: >"$T/bad2/ca/ca.key"
chmod 600 "$T/bad2/ca/ca.key"
for c in "bad1|$T/bad1/secrets: mode 0755" "bad2|$T/bad2/ca"; do
	timeout 20 nsenter --net=/run/netns/"$U-host" "$ISORUND" $DFLAGS \
	    --state-dir "$T/${c%%|*}" >"$T/o" 2>&1
	rc=$?
	check "state dir ${c%%|*}: isorund refuses to start, naming the path" \
	    '[ $rc != 0 ] && [ $rc != 124 ] && grep -qF -- "${c#*|}" "$T/o"' "exit $rc: $(cat "$T/o")"
done
check "... leaving no namespace" '[ -z "$(runner_left)" ]' "left: $(runner_left)"

d_start || { nok start "isorund did not start"; exit 1; }
export ISORUN_SOCKET=$SOCK

# sandboxes_left: live sandbox ids, slot namespaces, records.
sandboxes_left() {
	api GET /v1/sandboxes
	echo "$(jv sandboxes | python3 -c 'import json,sys;
print(",".join(s["id"] for s in json.load(sys.stdin)))')" \
	    "$(ls /run/netns | grep -c "^$R-sb")" \
	    "$(ls "$T/run/isorund/sandboxes" | tr '\n' ' ')"
}

# Secrets through the CLI.
printf '%s\n' "$SV1" | $ISORUN secret set openai >"$T/o" 2>&1
rc=$?
check "secret set: exit 0, says set" '[ $rc = 0 ] && grep -q "secret openai set" "$T/o"' \
    "exit $rc: $(cat "$T/o")"
check "... stored without the trailing newline" \
    '[ "$(cat "$SD/secrets/openai")" = "$SV1" ] && [ "$(stat -c %s "$SD/secrets/openai")" = ${#SV1} ]' \
    "$(stat -c %s "$SD/secrets/openai")"
check "... file 0600 root, in a 0700 directory owned by root" \
    '[ "$(stat -c %a:%U "$SD/secrets/openai")" = 600:root ] && [ "$(stat -c %a:%U "$SD/secrets")" = 700:root ]' \
    "$(stat -c %a:%U "$SD/secrets/openai" "$SD/secrets")"
printf '%s\n' "$SV1" | $ISORUN secret set openai >"$T/o" 2>&1
check "secret set again: replaced" 'grep -q "secret openai replaced" "$T/o"' "$(cat "$T/o")"
printf 'v\n' | $ISORUN secret set --raw rawk >"$T/o" 2>&1
check "secret set --raw keeps the newline" \
    '[ "$(od -An -c "$SD/secrets/rawk" | tr -d " ")" = "v\\n" ]' "$(od -c "$SD/secrets/rawk")"
for c in "set .bad|secret name '.bad': must start" "set e|the value on stdin is empty" \
    "set|want one NAME" "set a b|want one NAME" "frob|'frob': want set, ls or rm" \
    "ls --raw|--raw is for set" "rm|no NAME"; do
	args=${c%%|*} want=${c#*|}
	printf '' | $ISORUN secret $args >"$T/o" 2>&1
	rc=$?
	check "secret $args: usage error naming the input" \
	    '[ $rc = 2 ] && grep -qF -- "$want" "$T/o"' "exit $rc: $(cat "$T/o")"
done
head -c 65537 /dev/zero | tr '\0' a | $ISORUN secret set big >"$T/o" 2>&1
rc=$?
check "secret set of 65537 bytes: refused" '[ $rc = 2 ] && grep -q "over 65536 bytes" "$T/o"' \
    "exit $rc: $(cat "$T/o")"
check "... nothing stored" '[ ! -e "$SD/secrets/big" ]' "it is there"

# Secrets through the API.
API_CT=application/octet-stream api PUT /v1/secrets/org "$SV2"
check "PUT /v1/secrets/org: 201" '[ "$ST" = 201 ] && [ "$(cat "$SD/secrets/org")" = "$SV2" ]' \
    "$ST $(cat "$BODYF")"
API_CT=application/octet-stream api PUT /v1/secrets/big "$(head -c 65537 /dev/zero | tr '\0' a)"
errcheck "PUT a value of 65537 bytes: 400" 400 invalid_argument "more than 65536"
API_CT=application/octet-stream api PUT /v1/secrets/max "$(head -c 65536 /dev/zero | tr '\0' a)"
check "PUT a value of 65536 bytes: 201" '[ "$ST" = 201 ] && [ "$(stat -c %s "$SD/secrets/max")" = 65536 ]' \
    "$ST $(cat "$BODYF")"
api GET /v1/secrets
check "GET /v1/secrets: the names, sorted" \
    '[ "$(jv secrets | tr -d " ")" = "[{\"name\":\"max\"},{\"name\":\"openai\"},{\"name\":\"org\"},{\"name\":\"rawk\"}]" ]' \
    "$(cat "$BODYF")"
$ISORUN secret ls >"$T/o" 2>&1
check "secret ls: the names" '[ "$(cat "$T/o" | tr "\n" " ")" = "max openai org rawk " ]' "$(cat "$T/o")"
$ISORUN secret ls --json >"$T/o" 2>&1
check "secret ls --json: names only" '[ "$(jv secrets.1.name "$T/o")" = openai ] && ! grep -q "$SV1" "$T/o"' \
    "$(cat "$T/o")"
$ISORUN secret rm rawk max >"$T/o" 2>&1
rc=$?
check "secret rm: exit 0, gone" '[ $rc = 0 ] && [ ! -e "$SD/secrets/rawk" ] && [ ! -e "$SD/secrets/max" ]' \
    "exit $rc: $(cat "$T/o")"
$ISORUN secret rm rawk >"$T/o" 2>&1
rc=$?
check "secret rm of one not set: exit 2, saying so" '[ $rc = 2 ] && grep -q "secret .rawk. is not set" "$T/o"' \
    "exit $rc: $(cat "$T/o")"

# Create with endpoints.
cat >"$T/ep.json" <<'EOF'
[ { "host": "api.example.com",
    "rules": [ { "method": "POST", "path": "/v1/chat/completions", "action": "allow" },
               { "method": "DELETE", "path": "/v1/admin/*", "action": "deny" } ],
    "default": "deny",
    "credentials": [ { "header": "Authorization", "value": "Bearer ${secret:openai}" },
                     "X-Org: ${secret:org}" ] } ]
EOF
$ISORUN create --id e1 --deny 0.0.0.0/0 --allow api.example.com --endpoints "$T/ep.json" \
    >"$T/o" 2>&1
rc=$?
check "create --endpoints: exit 0" '[ $rc = 0 ] && [ "$(cat "$T/o")" = e1 ]' "exit $rc: $(cat "$T/o")"
api GET /v1/sandboxes/e1
check "GET shows the endpoints as given (templates)" \
    '[ "$(jv endpoints.0.host)" = api.example.com ] && [ "$(jv endpoints.0.credentials.0.value)" = "Bearer \${secret:openai}" ] && [ "$(jv endpoints.0.credentials.1)" = "X-Org: \${secret:org}" ] && [ "$(jv endpoints.0.rules.1.path)" = "/v1/admin/*" ]' \
    "$(cat "$BODYF")"
api POST /v1/sandboxes '{"id":"p1","network":{"deny":["0.0.0.0/0"],"allow":["api.example.com"]}}'
check "a sandbox without endpoints: endpoints []" '[ "$ST" = 201 ] && [ "$(jv endpoints)" = "[]" ]' \
    "$ST $(cat "$BODYF")"

# The CA: in e1's bundle (after the host's), not in p1's.
sbexec e1 "cat $BUNDLE; echo ==; echo \$SSL_CERT_FILE \$NODE_EXTRA_CA_CERTS"
jv stdout >"$T/e1.out"
sbexec p1 "cat $BUNDLE"
jv stdout >"$T/p1.out"
inb() { python3 -c 'import sys; a = open(sys.argv[1]).read().strip(); b = open(sys.argv[2]).read()
sys.exit(0 if a and a in b else 1)' "$1" "$2"; }
check "e1's bundle holds the runner's CA ($SD/ca/ca.crt)" 'inb "$SD/ca/ca.crt" "$T/e1.out"' \
    "$(head -c 300 "$T/e1.out")"
check "... and the host's bundle, first" \
    'python3 -c "import sys; sys.exit(0 if open(sys.argv[2]).read().startswith(open(sys.argv[1]).read().rstrip(\"\\n\")) else 1)" $BUNDLE "$T/e1.out"' \
    "$(head -c 200 "$T/e1.out")"
check "... named by SSL_CERT_FILE and NODE_EXTRA_CA_CERTS" \
    'grep -qx "$BUNDLE $BUNDLE" "$T/e1.out"' "$(tail -2 "$T/e1.out")"
check "p1 (no endpoints) does not trust it" '! inb "$SD/ca/ca.crt" "$T/p1.out" && [ -s "$T/p1.out" ]' \
    "$(wc -c <"$T/p1.out") bytes"
check "the CA key is 0600" '[ "$(stat -c %a "$SD/ca/ca.key")" = 600 ]' "$(stat -c %a "$SD/ca/ca.key")"
sbexec e1 'env; cat /proc/1/environ; grep -rs "'"$SV1"'" /tmp /root 2>/dev/null | head -1'
check "no secret value in e1's environment or files" \
    '[ "$ST" = 200 ] && ! grep -q "$SV1\|$SV2" "$BODYF"' "$(cat "$BODYF" | head -c 300)"

# Create-time errors: 400 with the message, nothing left behind.
before=$(sandboxes_left)
ep_bad() {
	api POST /v1/sandboxes "{\"id\":\"bad\",\"network\":{\"deny\":[\"0.0.0.0/0\"],\"allow\":[\"$1\"]},\"endpoints\":$2}"
	errcheck "$3: 400" 400 invalid_argument "$4"
	check "... no sandbox, namespace or record left" '[ "$(sandboxes_left)" = "$before" ]' \
	    "before: $before, now: $(sandboxes_left)"
}
ep_bad api.example.com '[{"host":"api.example.com","rules":[{"method":"GET","path":"/v1/*x","action":"allow"}]}]' \
    "a bad path" "endpoints[0].rules[0].path '/v1/*x': '*' is only allowed as the last segment"
ep_bad api.example.com '[{"host":"api.example.com","rules":[{"method":1}]}]' \
    "a field of the wrong type" "endpoints[0].rules[0].method: want a string, got an integer"
ep_bad api.example.com '[{"host":"api.example.com","credential":[]}]' \
    "an unknown field" "endpoints[0]: unknown field 'credential'"
ep_bad allowed.test '[{"host":"api.example.com"}]' \
    "a host the network policy blocks" "endpoints[0].host 'api.example.com' port 443: the network policy blocks it"
ep_bad api.example.com '[{"host":"api.example.com","credentials":["X-Key: ${secret:nope}"]}]' \
    "a secret not set" "endpoints: secret 'nope' is not set; set it with 'isorun secret set nope'"
api POST /v1/sandboxes '{"id":"bad","endpoints":[{"host":"api.example.com","credentials":["X: ${secret:nope}"]}]}'
errcheck "unrestricted with a secret not set: 400 too" 400 invalid_argument "secret 'nope' is not set"
echo '{"host":"a.com"}' >"$T/notarray.json"
for c in "$T/none.json|$T/none.json" "$T/notarray.json|want a JSON array"; do
	$ISORUN create --endpoints "${c%%|*}" >"$T/o" 2>&1
	rc=$?
	check "create --endpoints ${c%%|*}: exit 2 naming the file" \
	    '[ $rc = 2 ] && grep -qF -- "${c#*|}" "$T/o"' "exit $rc: $(cat "$T/o")"
done
check "... no sandbox left" '[ "$(sandboxes_left)" = "$before" ]' "now: $(sandboxes_left)"

# A live policy change that would block an endpoint host: refused.
cp "$T/run/isorund/sandboxes/e1.json" "$T/e1.rec"
api PUT /v1/sandboxes/e1/network '{"network":{"deny":["0.0.0.0/0"],"allow":["allowed.test"]}}'
errcheck "a policy blocking api.example.com: 400" 400 invalid_argument \
    "endpoints[0].host 'api.example.com' port 443: the network policy blocks it"
api GET /v1/sandboxes/e1
check "... the policy in force is the old one (API and record)" \
    '[ "$(jv network.allow)" = "[\"api.example.com\"]" ] && cmp -s "$T/e1.rec" "$T/run/isorund/sandboxes/e1.json"' \
    "$(jv network)"
api PUT /v1/sandboxes/e1/network '{"networkProfile":"locked-down"}'
errcheck "locked-down: refused too" 400 invalid_argument "the network policy blocks it"
api PUT /v1/sandboxes/e1/network '{"network":{"deny":["0.0.0.0/0"],"allow":["api.example.com","allowed.test"]}}'
check "a policy keeping it: 200" '[ "$ST" = 200 ] && [ "$(jv endpoints.0.host)" = api.example.com ]' \
    "$ST $(cat "$BODYF")"

# A live change of endpoints (PUT .../endpoints): every error leaves the
# rules and the record as they were.
cp "$T/run/isorund/sandboxes/e1.json" "$T/e1.rec"
EP2='{"endpoints":[{"host":"api.example.com","rules":[{"method":"GET","path":"/v1/models","action":"allow"}],"default":"deny","credentials":["X-Org: ${secret:org}"]}]}'
api PUT /v1/sandboxes/p1/endpoints "$EP2"
errcheck "endpoints for a sandbox created without them: 400 saying why" 400 invalid_argument \
    "sandbox p1 was created without endpoints, so it does not trust the runner's CA"
api PUT /v1/sandboxes/e1/endpoints '{"endpoints":[{"host":"evil.test"}]}'
errcheck "endpoints for a host the policy blocks: 400" 400 invalid_argument \
    "endpoints[0].host 'evil.test' port 443: the network policy blocks it"
api PUT /v1/sandboxes/e1/endpoints '{"endpoints":[{"host":"api.example.com","credentials":["X: ${secret:nope}"]}]}'
errcheck "endpoints naming a secret not set: 400" 400 invalid_argument "secret 'nope' is not set"
api PUT /v1/sandboxes/e1/endpoints '{"endpoints":[{"host":"api.example.com","rules":[{"method":"GET","path":"v1"}]}]}'
errcheck "an invalid rule: 400 naming it" 400 invalid_argument "endpoints[0].rules[0]"
api PUT /v1/sandboxes/e1/endpoints '{"rules":[]}'
errcheck "a body without endpoints: 400" 400 invalid_argument "unknown"
api PUT /v1/sandboxes/nosuch/endpoints "$EP2"
errcheck "an unknown sandbox: 404" 404 not_found "nosuch"
api GET /v1/sandboxes/e1
check "... the rules in force and the record are the old ones" \
    '[ "$(jv endpoints.0.rules.1.path)" = "/v1/admin/*" ] && cmp -s "$T/e1.rec" "$T/run/isorund/sandboxes/e1.json"' \
    "$(jv endpoints)"
api PUT /v1/sandboxes/p1/endpoints '{"endpoints":[]}'
check "none for a sandbox created without: 200, and nothing recorded" \
    '[ "$ST" = 200 ] && [ "$(jv endpoints)" = "[]" ] && ! grep -q endpoints "$T/run/isorund/sandboxes/p1.json"' \
    "$ST $(cat "$T/run/isorund/sandboxes/p1.json")"
api PUT /v1/sandboxes/e1/endpoints "$EP2"
check "new endpoints: 200, the sandbox with them" \
    '[ "$ST" = 200 ] && [ "$(jv endpoints.0.rules.0.path)" = /v1/models ] && [ "$(jv endpoints.0.credentials.0)" = "X-Org: \${secret:org}" ]' \
    "$ST $(cat "$BODYF")"
check "... recorded" 'grep -q "/v1/models" "$T/run/isorund/sandboxes/e1.json"' \
    "$(cat "$T/run/isorund/sandboxes/e1.json")"
$ISORUN endpoints show --json e1 >"$T/o" 2>&1
check "isorun endpoints show: the rules in force" \
    '[ "$(jv endpoints.0.rules.0.path "$T/o")" = /v1/models ]' "$(cat "$T/o")"

# A crash and a restart: e1 is adopted with its endpoints.
d_stop KILL
d_start || { nok start "isorund did not start after a crash"; exit 1; }
check "restart: e1 adopted with its endpoints" \
    'grep -q "adopted sandbox e1 (.*endpoints)" "$T/daemon.log"' "$(grep adopt "$T/daemon.log")"
api GET /v1/sandboxes/e1
check "... GET shows them, as last set" '[ "$(jv endpoints.0.credentials.0)" = "X-Org: \${secret:org}" ] &&
    [ "$(jv endpoints.0.rules.0.path)" = /v1/models ]' "$(cat "$BODYF")"
printf '[]' >"$T/none-eps.json"
$ISORUN endpoints set e1 "$T/none-eps.json" >"$T/o" 2>&1
rc=$?
check "isorun endpoints set e1 []: none left" '[ $rc = 0 ] && grep -q "e1: 0 endpoint host" "$T/o"' \
    "exit $rc: $(cat "$T/o")"
d_stop KILL
d_start || { nok start "isorund did not start after a second crash"; exit 1; }
$ISORUN endpoints set e1 "$T/ep.json" >"$T/o" 2>&1
rc=$?
check "... after a restart it still trusts the CA: endpoints can be set again" \
    '[ $rc = 0 ] && grep -q "e1: 1 endpoint host" "$T/o"' "exit $rc: $(cat "$T/o")"
api PUT /v1/sandboxes/p1/endpoints "$EP2"
errcheck "... while one created without still cannot get any" 400 invalid_argument \
    "sandbox p1 was created without endpoints"
api PUT /v1/sandboxes/e1/network '{"network":{"deny":["0.0.0.0/0"],"allow":["allowed.test"]}}'
errcheck "... and still refuses a policy blocking its host" 400 invalid_argument \
    "the network policy blocks it"
sbexec e1 "cat $BUNDLE"
jv stdout >"$T/e1.out"
check "... its bundle still holds the same CA" 'inb "$SD/ca/ca.crt" "$T/e1.out"' "$(wc -c <"$T/e1.out")"
api DELETE /v1/sandboxes/e1
api DELETE /v1/sandboxes/p1
check "destroyed: nothing left" '[ "$(sandboxes_left)" = " 0 " ]' "$(sandboxes_left)"

# No value anywhere: answers, the daemon's log, the audit store, CLI output.
check "no answer, log line or audit row holds a secret value" \
    '! grep -rqa -e "$SV1" -e "$SV2" "$T/ex" "$T/daemon.log" "$T"/audit.db* "$T/o"' \
    "$(grep -rla -e "$SV1" -e "$SV2" "$T/ex" "$T/daemon.log" "$T"/audit.db* | head -3)"
check "the log says which secret was set" 'grep -q "secret org set (new)" "$T/daemon.log"' \
    "$(grep secret "$T/daemon.log" | head -3)"
d_stop
check "SIGTERM: exit 0 (no leak under ASan)" '[ "$DRC" = 0 ]' "exit $DRC: $(tail -5 "$T/daemon.log")"

# isorun run --endpoints, embedded, with its own state dir.
unset ISORUN_SOCKET
S2=$T/state2
mkdir -p "$S2"
erun() {
	nsenter --net=/run/netns/"$U-host" "$ISORUN" run --embedded \
	    --dns-server 192.0.2.53 --state-dir "$S2" --audit quiet "$@"
}
erun --deny 0.0.0.0/0 --allow api.example.com --endpoints "$T/ep.json" -- true >"$T/o" 2>&1
rc=$?
check "run --endpoints, a secret not set: exit 2 saying so" \
    '[ $rc = 2 ] && grep -q "secret .openai. is not set" "$T/o"' "exit $rc: $(cat "$T/o")"
printf '%s' "$SV1" | $ISORUN secret --state-dir "$S2" set openai >"$T/o" 2>&1 &&
    printf '%s' "$SV2" | $ISORUN secret --state-dir "$S2" set org >>"$T/o" 2>&1
check "secret --state-dir: stored there" \
    '[ "$(cat "$S2/secrets/openai")" = "$SV1" ] && [ "$(stat -c %a "$S2/secrets")" = 700 ]' "$(cat "$T/o")"
erun --deny 0.0.0.0/0 --allow api.example.com --endpoints "$T/ep.json" -- cat $BUNDLE \
    >"$T/run.out" 2>"$T/o"
rc=$?
check "run --endpoints: the sandbox trusts the runner's CA" \
    '[ $rc = 0 ] && inb "$S2/ca/ca.crt" "$T/run.out"' "exit $rc: $(cat "$T/o")"
erun --deny 0.0.0.0/0 --allow allowed.test --endpoints "$T/ep.json" -- true >"$T/o" 2>&1
rc=$?
check "run --endpoints, host blocked by the policy: exit 2" \
    '[ $rc = 2 ] && grep -q "the network policy blocks it" "$T/o"' "exit $rc: $(cat "$T/o")"
erun --endpoints "$T/notarray.json" -- true >"$T/o" 2>&1
rc=$?
check "run --endpoints not an array: exit 2 naming the file" \
    '[ $rc = 2 ] && grep -q "notarray.json: want a JSON array" "$T/o"' "exit $rc: $(cat "$T/o")"
exit 0
