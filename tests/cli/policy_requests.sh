# `isorun policy check --endpoints FILE --request 'METHOD URL'`: requests
# decided offline as an intercepting runner would (docs/endpoints.md).
# shellcheck source=tests/cli/lib.sub
. "$(dirname "$0")/lib.sub"

cat >"$TMP/ep.json" <<'JSON'
[ { "host": "api.openai.com",
    "rules": [ { "method": "POST", "path": "/v1/chat/completions", "action": "allow" },
               { "method": "*", "path": "/v1/files/*", "action": "allow" },
               { "method": "DELETE", "path": "/v1/admin/*", "action": "deny" } ],
    "credentials": [ "Authorization: Bearer ${secret:openai}" ] } ]
JSON
P="--deny 0.0.0.0/0 --allow api.openai.com --allow pypi.org --endpoints $TMP/ep.json"

# req NAME REQUEST WANT-VERDICT WANT-RULE: one request's row.
req() {
	run policy check $P --json --request "$2"
	got=$(printf '%s' "$out" | python3 -c 'import json,sys
o = json.load(sys.stdin)[0]; print(o["verdict"] + "|" + o["rule"])' 2>&1)
	if [ "$rc" -eq 0 ] && [ "$got" = "$3|$4" ]; then
		pass "$1"
	else
		fail "$1" "exit $rc, got '$got', want '$3|$4'; $err"
	fi
}

req "allow rule" 'POST https://api.openai.com/v1/chat/completions?stream=1' \
    allowed 'allow POST /v1/chat/completions'
req "prefix rule, any method" 'PUT https://api.openai.com/v1/files/a/b' \
    allowed 'allow * /v1/files/*'
req "deny first, method in any case" 'delete https://api.openai.com/v1/admin/users' \
    denied 'deny DELETE /v1/admin/*'
req "no rule: the allow-list's default" 'GET https://api.openai.com/v1/models' \
    denied default
req "dot segments are ambiguous" 'GET https://api.openai.com/v1/files/../admin/x' \
    denied ambiguous
req "an encoded slash is ambiguous" 'GET https://api.openai.com/v1/files%2F..%2Fadmin' \
    denied ambiguous
req "plain http to an endpoint host: blocked" 'GET http://api.openai.com/v1/models' \
    blocked endpoint
req "another port of an endpoint host: blocked" 'GET https://api.openai.com:8443/v1/files/x' \
    blocked endpoint
req "a host without endpoint rules: the network policy's verdict" \
    'GET https://pypi.org/simple/' allowed pypi.org
req "a host the network policy blocks" 'GET https://example.com/' blocked default

run policy check $P --request 'DELETE https://api.openai.com/v1/admin/x' pypi.org
case $out in
*"pypi.org  permitted"*"DELETE https://api.openai.com/v1/admin/x  denied    deny DELETE /v1/admin/*"*)
	pass "table: targets, then requests" ;;
*)	fail "table: targets, then requests" "rc=$rc: $out" ;;
esac
run policy check $P --json --request 'DELETE https://api.openai.com/v1/admin/x'
case $out in
*'"path": "/v1/admin/x"'*'"reason": "DELETE '"'"'/v1/admin/x'"'"' matches deny rule'*)
	pass "JSON: path and reason" ;;
*)	fail "JSON: path and reason" "$out" ;;
esac

status "--request without --endpoints: exit 2" 2 "--request and --endpoints go together" \
    policy check --allow x.test --request 'GET https://x.test/'
status "--endpoints without --request: exit 2" 2 "--request and --endpoints go together" \
    policy check --allow x.test --endpoints "$TMP/ep.json" x.test
status "a request that is no 'METHOD URL': exit 2" 2 "want 'METHOD URL'" \
    policy check $P --request 'GET'
status "a URL without scheme: exit 2" 2 "must start with https:// or http://" \
    policy check $P --request 'GET api.openai.com/v1'
status "a URL without path: exit 2" 2 "has no path" \
    policy check $P --request 'GET https://api.openai.com'
status "a bad port: exit 2" 2 "bad port '99999'" \
    policy check $P --request 'GET https://api.openai.com:99999/'
status "endpoint hosts the policy blocks: exit 2" 2 \
    "endpoints[0].host 'api.openai.com' port 443: the network policy blocks it" \
    policy check --allow pypi.org --endpoints "$TMP/ep.json" --request 'GET https://pypi.org/'
status "bad endpoint rules: exit 2 naming the field" 2 "endpoints[0].rules[0].path" \
    policy check --allow x.test --endpoints /dev/stdin --request 'GET https://x.test/' <<'JSON'
[ { "host": "x.test", "rules": [ { "method": "GET", "path": "/a/*b", "action": "allow" } ] } ]
JSON
status "a missing file: exit 2 naming it" 2 "/nonexistent.json" \
    policy check --allow x.test --endpoints /nonexistent.json --request 'GET https://x.test/'
run policy check $P --request 'GET https://api.openai.com' --request 'GET https://pypi.org/'
if [ "$rc" -eq 2 ] && [ -z "$out" ]; then
	pass "a bad request fails before anything is printed"
else
	fail "a bad request fails before anything is printed" "rc=$rc out=$out"
fi
