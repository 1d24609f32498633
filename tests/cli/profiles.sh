# `isorun profiles` and profile files.
# shellcheck source=tests/cli/lib.sub
. "$(dirname "$0")/lib.sub"

run profiles --json --profiles-dir "$TMP/none"
json "profiles --json: the four built-ins" '
assert [p["name"] for p in a] == ["unrestricted", "locked-down",
    "claude-code", "openai"], a
assert [p["mode"] for p in a] == ["allow-all", "deny-all", "allow-list",
    "allow-list"]
for p in a:
    assert sorted(p) == ["allow", "deny", "description", "mode", "name",
        "source"], p
    assert p["source"] == "builtin"
assert a[1]["deny"] == ["*"]
assert "files.pythonhosted.org" in a[2]["allow"]
assert "objects.githubusercontent.com" in a[2]["allow"]
assert "api.anthropic.com" not in a[3]["allow"]
assert "api.openai.com" in a[3]["allow"]
assert a[2]["description"] == "Anthropic API + PyPI + npm + GitHub + crates.io"'

run profiles --profiles-dir "$TMP/none"
case $out in
NAME*unrestricted*locked-down*claude-code*openai*) pass "profiles: table" ;;
*) fail "profiles: table" "$out" ;;
esac

D=$TMP/profiles.d
mkdir "$D"
cat >"$D/team.json" <<'J'
{
  "name": "team-a",
  "description": "Team A: the corp mirror only",
  "allow": ["*.corp.example", "pypi.org"]
}
J
cat >"$D/bad.json" <<'J'
{ "name": "bad-one", "allow": ["*foo.com"] }
J
printf '{\n  "name": \n' >"$D/broken.json"

run profiles --json --profiles-dir "$D"
rc_is "profiles: bad files still exit 0" 0
json "--profiles-dir adds a profile" '
names = [p["name"] for p in a]
assert names == ["unrestricted", "locked-down", "claude-code", "openai",
    "team-a"], names
assert a[4]["mode"] == "allow-list" and a[4]["source"].endswith("team.json")'
case $err in
*"bad.json: allow[0] '*foo.com'"*) pass "profiles: bad rule reported" ;;
*) fail "profiles: bad rule reported" "$err" ;;
esac
case $err in
*"broken.json:3:"*) pass "profiles: bad JSON reported with its line" ;;
*) fail "profiles: bad JSON reported with its line" "$err" ;;
esac

verdict "policy check --profile from a file" mirror.corp.example permitted \
    '*.corp.example' --profiles-dir "$D" --profile team-a
verdict "file profile blocks the rest" example.com blocked default \
    --profiles-dir "$D" --profile team-a
status "a bad file's profile is unavailable: exit 2" 2 \
    "profile 'bad-one' is unavailable" \
    policy check --profiles-dir "$D" --profile bad-one x.example

echo '{"name": "claude-code", "allow": ["api.anthropic.com"]}' >"$D/cc.json"
verdict "a file overrides a built-in" pypi.org blocked default \
    --profiles-dir "$D" --profile claude-code
echo '{"name": "openai", "allow": ["a.*.com"]}' >"$D/oa.json"
status "a broken override does not fall back to the built-in" 2 \
    "profile 'openai' is unavailable" \
    policy check --profiles-dir "$D" --profile openai api.openai.com
status "profiles: extra argument" 2 "unexpected argument" profiles extra

mkdir -p "$TMP/empty"
run profiles --profiles-dir "$TMP/empty"
if [ "$rc" -eq 0 ] && echo "$out" | grep -q '^claude-code' && [ -z "$err" ]; then
	pass "an empty profiles directory: the built-ins, no error"
else
	fail "an empty profiles directory: the built-ins, no error" "exit $rc; $err"
fi
