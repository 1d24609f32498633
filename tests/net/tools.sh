#!/bin/sh
# tools.sh - ordinary tools with no proxy settings through `isorun run`, in
# the closed universe: git over https (github.com, a dumb-HTTP repository on
# the wan server), git over ssh (a paramiko SSH server in wan on port 2222,
# tests/net/lib/git_ssh.py), npm install (a registry.npmjs.org stand-in),
# curl. Each allowed under an allow list and blocked without it, judged by
# the far side's logs.
set -u
cd "$(dirname "$0")/../.."
B=${ISORUN_BUILD:-build/san}
I=$B/isorun
if [ "$(id -u)" != 0 ]; then
	echo "ok - tools # skip: needs root"
	exit 0
fi
[ -x "$I" ] && [ -x "$B/isorun-init" ] ||
	{ echo "not ok - tools: $I or $B/isorun-init is not built"; exit 1; }
for t in git npm node ssh ssh-keygen; do
	command -v $t >/dev/null 2>&1 ||
	    { echo "ok - tools # skip: $t is missing (scripts/install-deps.sh)"; exit 0; }
done
/usr/bin/python3 -c 'import paramiko' 2>/dev/null ||
    { echo "ok - tools # skip: python3-paramiko is missing (scripts/install-deps.sh)"; exit 0; }
. tests/net/lib/universe.sub
U=irt-$$
T=$(mktemp -d)
chmod 755 "$T"
trap 'universe_down "$U"; rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP PIPE

ok() { echo "ok - tools: $1"; }
nok() { echo "not ok - tools: $1: $2"; }
check() { if eval "$2"; then ok "$1"; else nok "$1" "$3"; fi; }

# The far side's content: a git repository served as static files (git's
# dumb HTTP protocol), the same repository for ssh, an npm package.
W=$T/www
mkdir -p "$W/github.com/isorun" "$W/registry.npmjs.org/isorun-demo/-"
git init -q "$T/src"
echo "hello from the simulated github" >"$T/src/README"
git -C "$T/src" add README
git -C "$T/src" -c user.name=t -c user.email=t@example.com commit -qm one
git clone -q --bare "$T/src" "$W/github.com/isorun/demo.git"
git -C "$W/github.com/isorun/demo.git" update-server-info
/usr/bin/python3 - "$W/registry.npmjs.org/isorun-demo" <<'PY'
import base64, hashlib, io, json, sys, tarfile
d = sys.argv[1]
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w:gz") as t:
    for name, data in (("package/package.json", json.dumps(
            {"name": "isorun-demo", "version": "1.0.0", "main": "index.js"})),
            ("package/index.js", "module.exports = 'isorun-demo works';\n")):
        b = data.encode()
        i = tarfile.TarInfo(name)
        i.size = len(b)
        t.addfile(i, io.BytesIO(b))
tgz = buf.getvalue()
open(d + "/-/isorun-demo-1.0.0.tgz", "wb").write(tgz)
meta = {"name": "isorun-demo", "dist-tags": {"latest": "1.0.0"},
        "versions": {"1.0.0": {"name": "isorun-demo", "version": "1.0.0",
        "main": "index.js", "dist": {
            "tarball": "https://registry.npmjs.org/isorun-demo/-/isorun-demo-1.0.0.tgz",
            "shasum": hashlib.sha1(tgz).hexdigest(),
            "integrity": "sha512-" + base64.b64encode(hashlib.sha512(tgz).digest()).decode()}}}}
open(d + "/index.html", "w").write(json.dumps(meta))
PY
ssh-keygen -q -t ecdsa -N '' -C isorun-test -f "$T/key"
UNIVERSE_WWW=$W universe_up "$U" || { echo "not ok - tools: universe_up failed"; exit 1; }
WLOG=$(universe_wan_log "$U")
SLOG=$T/ssh.log
: >"$SLOG"
: >"$T/ssh.out"
ip netns exec "$U-wan" /usr/bin/python3 tests/net/lib/git_ssh.py :: 2222 \
    "$T/key.pub" "$SLOG" >"$T/ssh.out" 2>&1 &
i=0
until grep -q ready "$T/ssh.out"; do
	[ $i -lt 50 ] || { nok "ssh server" "$(cat "$T/ssh.out")"; exit 1; }
	sleep 0.1
	i=$((i + 1))
done

# box POLICY... -- SCRIPT: runs SCRIPT (sh) in a new sandbox that trusts the
# universe's CA; the ssh key travels in the environment.
KEY=$(base64 -w0 "$T/key")
box() {
	pol=''
	while [ "$1" != -- ]; do pol="$pol $1"; shift; done
	shift
	# shellcheck disable=SC2086
	nsenter --net=/run/netns/"$U-host" "$I" run --dns-server 192.0.2.53 \
	    --ca-file "$UNIVERSE_CA" --env HOME=/tmp --env KEY="$KEY" \
	    --env GIT_SSH_COMMAND="ssh -i /tmp/k -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=5" \
	    $pol -- sh -c 'echo "$KEY" | base64 -d >/tmp/k && chmod 600 /tmp/k && '"$1" 2>"$T/err"
}
SEED="--deny 0.0.0.0/0 --allow github.com --allow registry.npmjs.org"

# 1. allowed
out=$(box $SEED -- 'git clone -q https://github.com/isorun/demo.git /tmp/h && cat /tmp/h/README')
check "git clone over https, allowed by name: the repository arrives" \
    '[ "$out" = "hello from the simulated github" ]' "got '$out' $(tail -3 "$T/err")"
check "... the server saw git's requests for github.com with SNI" \
    'grep "\"sni\":\"github.com\"" "$WLOG" | grep -q "/isorun/demo.git/info/refs"' \
    "$(tail -3 "$WLOG")"
out=$(box $SEED -- 'git clone -q ssh://git@github.com:2222/'"$W"'/github.com/isorun/demo.git /tmp/s && cat /tmp/s/README')
check "git clone over ssh (server-first: named by the sandbox's DNS lookup): arrives" \
    '[ "$out" = "hello from the simulated github" ]' "got '$out' $(tail -3 "$T/err")"
check "... the ssh server ran git-upload-pack for it" \
    'grep -q "git-upload-pack" "$SLOG"' "$(cat "$SLOG")"
out=$(box $SEED -- 'mkdir -p /tmp/p && cd /tmp/p && npm install --no-audit --no-fund --loglevel=error isorun-demo >/dev/null && node -e "console.log(require(\"isorun-demo\"))"')
check "npm install from the registry, allowed by name: the package runs" \
    '[ "$out" = "isorun-demo works" ]' "got '$out' $(tail -3 "$T/err")"
check "... the registry served its metadata and tarball" \
    'grep "\"sni\":\"registry.npmjs.org\"" "$WLOG" | grep -q "\"/isorun-demo/-/isorun-demo-1.0.0.tgz\""' \
    "$(tail -3 "$WLOG")"

# 2. the same under a policy that does not allow them: nothing arrives
w=$(wc -l <"$WLOG") s=$(wc -l <"$SLOG")
out=$(box --deny 0.0.0.0/0 --allow pypi.org -- 'git clone -q https://github.com/isorun/demo.git /tmp/h2; echo "rc=$?"')
check "git clone over https, not allowed: fails" '[ "$out" != "rc=0" ]' "got '$out'"
out=$(box --deny 0.0.0.0/0 --allow pypi.org -- 'git clone -q ssh://git@192.0.2.11:2222/'"$W"'/github.com/isorun/demo.git /tmp/s2; echo "rc=$?"')
check "git clone over ssh to its address, not allowed: fails" '[ "$out" != "rc=0" ]' "got '$out'"
out=$(box --deny 0.0.0.0/0 --allow pypi.org -- 'cd /tmp && npm install --no-audit --no-fund --fetch-retries=0 --loglevel=error isorun-demo >/dev/null 2>&1; echo "rc=$?"')
check "npm install, not allowed: fails" '[ "$out" != "rc=0" ]' "got '$out'"
check "... and none of these reached a server" \
    '[ "$(wc -l <"$WLOG")" = "$w" ] && [ "$(wc -l <"$SLOG")" = "$s" ]' \
    "wan: $(tail -n +$((w + 1)) "$WLOG" | head -3) ssh: $(tail -n +$((s + 1)) "$SLOG")"
exit 0
