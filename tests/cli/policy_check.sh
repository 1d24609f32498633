# `isorun policy check`: targets, options, JSON, exit codes.
# shellcheck source=tests/cli/lib.sub
. "$(dirname "$0")/lib.sub"

status "valid policy, all blocked: exit 0" 0 "" \
    policy check --profile locked-down example.com 1.2.3.4
status "bad rule: exit 2 naming the rule" 2 "isorun: deny[0] '*foo.com': " \
    policy check --deny '*foo.com' example.com
status "bad allow rule: exit 2 naming it" 2 "allow[1] 'a.*.com'" \
    policy check --allow ok.example --allow 'a.*.com' example.com
status "host bits set: exit 2" 2 "deny[0] '10.0.0.1/8'" \
    policy check --deny 10.0.0.1/8 example.com
status "profile and --allow: exit 2" 2 \
    "networkProfile and network are mutually exclusive" \
    policy check --profile claude-code --allow x.example example.com
status "network-profile and --network: exit 2" 2 \
    "networkProfile and network are mutually exclusive" \
    policy check --network '{}' --network-profile openai example.com
status "unknown profile: exit 2" 2 "unknown profile 'nope'" \
    policy check --profile nope example.com
status "two profiles: exit 2" 2 "one profile only" \
    policy check --profile openai --profile claude-code example.com
status "no target: exit 2" 2 "no TARGET" policy check --profile openai
status "unknown option: exit 2" 2 "unknown option '--bogus'" \
    policy check --bogus example.com
status "missing option argument: exit 2" 2 "needs an argument" \
    policy check example.com --allow
status "unknown subcommand: exit 2" 2 "unknown subcommand 'chek'" \
    policy chek example.com

for t in 'host@' '@1.2.3.4' 'example.com:0' 'example.com:65536' \
    'example.com:x' '[2001:db8::1' '[2001:db8::1]x' '[1.2.3.4]:80' \
    '1.2.3.999' 'example.com@not-an-ip' '2001:db8::zz' 'a b' \
    'example.com:443@1.2.3.4' ''; do
	status "malformed target '$t': exit 2" 2 "target '$t'" \
	    policy check --profile openai "$t"
done

# Target forms and port rules.
verdict "host:port matches a port rule" github.com:22 permitted github.com:22 \
    --allow github.com:22
verdict "another port does not" github.com:443 blocked default \
    --allow github.com:22
verdict "no port: port rules never match" github.com blocked default \
    --allow github.com:22
verdict "[IPv6]:port" "[2001:db8::1]:443" permitted "[2001:db8::1]:443" \
    --allow '[2001:db8::1]:443'
verdict "bare IPv6 has no port" 2001:db8::1 blocked default \
    --allow '[2001:db8::1]:443'
verdict "name@[IPv6]:port by address" "x.example@[2001:db8::1]:443" \
    permitted "2001:db8::/32" --allow 2001:db8::/32
verdict "name@addr: name rule" "api.openai.com@1.2.3.4:443" permitted \
    api.openai.com --deny 0.0.0.0/0 --allow api.openai.com
verdict "name@addr: address deny wins" "api.openai.com@10.1.2.3:443" \
    blocked 10.0.0.0/8 --deny 10.0.0.0/8 --allow api.openai.com
verdict "case and trailing dot" API.OpenAI.com. permitted api.openai.com \
    --deny '*' --allow api.openai.com
verdict "IDN target" "bücher.example" permitted - --deny '*' \
    --allow "bücher.example"
verdict "punycode target" xn--bcher-kva.example permitted - --deny '*' \
    --allow "bücher.example"

# --network
verdict "--network allow-only" pypi.org permitted pypi.org \
    --network '{"deny":["0.0.0.0/0"],"allow":["pypi.org"]}'
verdict "--network blocks the rest" example.com blocked default \
    --network '{"deny":["0.0.0.0/0"],"allow":["pypi.org"]}'
verdict "--network with --deny" x.example blocked x.example \
    --network '{"allow":["*.example"]}' --deny x.example
status "--network unknown key: exit 2" 2 "unknown key 'alow'" \
    policy check --network '{"alow":["x.example"]}' x.example
status "--network bad JSON: exit 2" 2 "--network: invalid JSON" \
    policy check --network '{"allow":' x.example
status "--network not a string: exit 2" 2 "allow[0] must be a string" \
    policy check --network '{"allow":[1]}' x.example
status "--network bad rule: exit 2" 2 "deny[0] '*x'" \
    policy check --network '{"deny":["*x"]}' x.example

# The guard list.
verdict "guard: loopback blocked by default" 127.0.0.1:80 blocked guard
verdict "guard: metadata range blocked whatever the policy" 169.254.1.1 \
    blocked guard --allow 169.254.0.0/16
verdict "--guard replaces the defaults" 127.0.0.1 permitted default \
    --guard 10.0.0.0/8
verdict "--guard blocks its prefix" 10.9.9.9 blocked guard \
    --guard 10.0.0.0/8
status "--guard with a name: exit 2" 2 "--guard" \
    policy check --guard example.com x.example

# --json
run policy check --profile claude-code --json pypi.org random-site.com \
    127.0.0.1 "api.anthropic.com@[2001:db8::1]:443"
rc_is "--json: exit 0" 0
json "--json: shape" '
assert isinstance(a, list) and len(a) == 4, a
for o in a:
    assert sorted(o) == ["reason", "rule", "target", "verdict"], o
    assert o["verdict"] in ("permitted", "blocked"), o
    assert isinstance(o["reason"], str) and o["reason"], o
assert a[0]["target"] == "pypi.org" and a[0]["verdict"] == "permitted"
assert a[0]["rule"] == "pypi.org"
assert a[1]["verdict"] == "blocked" and a[1]["rule"] == "default"
assert a[2]["verdict"] == "blocked" and a[2]["rule"] == "guard"
assert a[3]["target"] == "api.anthropic.com@[2001:db8::1]:443"
assert a[3]["verdict"] == "permitted"'
run policy check --deny '*foo.com' --json example.com
rc_is "--json: bad policy exits 2" 2
if [ -z "$out" ]; then
	pass "--json: bad policy prints nothing"
else
	fail "--json: bad policy prints nothing" "$out"
fi
