#!/bin/sh
# sdk_seeds.sh - the TypeScript SDK (sdk/typescript). Its unit tests against
# a fake isorund (no root needed); then, in the closed universe with a
# simulated pypi.org, the seeds' TypeScript examples run as written
# (sdk/typescript/examples/, compiled, run with node) against isorund, judged
# by what they print and by the far side (wan and DNS logs, packet counters,
# the audit trail); and the SDK's calls against isorund: errors, exec, live
# policy, audit, concurrency, TCP with a token. The tests are node's test
# runner (sdk/typescript/test/*.test.ts); their TAP becomes our lines.
TEST=sdk_seeds
set -u
cd "$(dirname "$0")/../.." || exit 1
SDK=sdk/typescript

# tap PREFIX <TAP: node's test runner output as ok / not ok lines (a
# failure with the first line of its error), its own "# " notes kept.
tap() {
	awk -v p="$1" '
	function flush() {
		if (pend != "") {
			gsub(/[ \t]+/, " ", err)
			printf "not ok - %s: %s: %s\n", p, pend, substr(err, 1, 400)
		}
		pend = ""; err = ""; inerr = 0
	}
	/^(not )?ok [0-9]+ - / {
		flush()
		l = $0
		bad = ($1 == "not")
		sub(/^(not )?ok [0-9]+ - /, "", l)
		if (bad) { pend = l; next }
		if (match(l, / # SKIP/)) {
			printf "ok - %s: %s # skip%s\n", p, substr(l, 1, RSTART - 1),
			    substr(l, RSTART + 7)
		} else {
			printf "ok - %s: %s\n", p, l
		}
		next
	}
	pend != "" && /^  error: / {
		v = $0
		sub(/^  error: /, "", v)
		if (v == "|-" || v == "|" || v == ">-") { inerr = 1; next }
		gsub(/^'\''|'\''$/, "", v)
		err = v
		next
	}
	pend != "" && inerr && /^    / { l = $0; sub(/^ +/, "", l); if (l != "") err = err " " l; next }
	pend != "" && inerr { inerr = 0 }
	pend != "" && /^  \.\.\./ { flush(); next }
	/^# (image|stand-in|note)/ { print }
	END { flush() }'
}

# node_tests PREFIX FILE [RUNNER...]: runs one test file; a crash or a
# non-zero exit without a failure line is a failure too.
node_tests() {
	_p=$1 _f=$2
	shift 2
	"$@" node --test-reporter=tap "$_f" >"$NT/out" 2>"$NT/err"
	_rc=$?
	tap "$_p" <"$NT/out" | tee "$NT/lines"
	if [ $_rc != 0 ] && ! grep -q '^not ok' "$NT/lines"; then
		echo "not ok - $_p: node exited $_rc: $(tail -5 "$NT/err" | tr '\n' ' ')"
	fi
	if ! grep -q '^ok' "$NT/lines" && ! grep -q '^not ok' "$NT/lines"; then
		echo "not ok - $_p: ran no test: $(tail -5 "$NT/out" "$NT/err" | tr '\n' ' ')"
	fi
}

if [ -z "${SB_REAPED:-}" ]; then
	# First pass: build and the unit tests; api_lib.sub then re-runs this
	# file under `sbtool reap` (as root) for the rest.
	if ! command -v node >/dev/null 2>&1; then
		echo "ok - $TEST # skip: node is missing (apt-get install nodejs npm)"
		exit 0
	fi
	if ! node -e 'process.exit(+process.versions.node.split(".")[0] >= 18 ? 0 : 1)'; then
		echo "ok - $TEST # skip: node $(node --version) is older than 18"
		exit 0
	fi
	NT=$(mktemp -d /tmp/irt-sdk.XXXXXX) || exit 1
	trap 'rm -rf "$NT"' EXIT
	trap 'exit 1' INT TERM HUP
	if ! sh scripts/build-sdk.sh >"$NT/build" 2>&1; then
		echo "not ok - $TEST: scripts/build-sdk.sh failed: $(tail -5 "$NT/build" | tr '\n' ' ')"
		exit 1
	fi
	echo "ok - $TEST: scripts/build-sdk.sh built the package, the examples and the tests"
	node_tests "$TEST: unit" "$SDK/build/test/unit.test.js"
	rm -rf "$NT"
	trap - EXIT
fi

# The names the seeds use besides the universe's own; their addresses come
# below (universe_dns_add), the certificate lists them now.
UNIVERSE_TLS_NAMES="random-site.com metadata.google.internal"
export UNIVERSE_TLS_NAMES
. tests/net/api_lib.sub

NT=$T/nt
mkdir -p "$NT"
# A simulated pypi.org (the static root is read per request) and the
# seeds' other names.
python3 demo/pypi.py "$UNIVERSE_WWW" openai anthropic ||
    { nok setup "demo/pypi.py failed"; exit 1; }
universe_dns_add "$U" random-site.com 203.0.113.10
universe_dns_add "$U" metadata.google.internal 169.254.169.254

# The runner's settings the seeds' world needs: the universe's CA trusted in
# every sandbox, the seeds' image name mapped to the host image (no registry
# here), pip's settings for Debian's pip in every sandbox. The examples'
# preload (sdk/typescript/test/preload.ts) only records exit codes then.
DX="--ca-file $UNIVERSE_CA --image-aliases python:3.12-slim=host
--sandbox-env PIP_BREAK_SYSTEM_PACKAGES=1,PIP_ROOT_USER_ACTION=ignore,PIP_DISABLE_PIP_VERSION_CHECK=1"

TOKEN=sdk-test-token-$$-0123456789abcdef
(umask 077 && echo "$TOKEN" >"$T/token")
# shellcheck disable=SC2086
d_start --listen 127.0.0.1:8420 --token-file "$T/token" $DX ||
    { nok start "isorund did not start"; exit 1; }

SDK_REPO=$(pwd)
SDK_UNIVERSE=$U
ISORUN_SOCKET=$SOCK
SDK_SEEDS=''
[ -d ../shared/seeds ] && SDK_SEEDS=$(cd ../shared/seeds && pwd)
export SDK_REPO SDK_UNIVERSE ISORUN_SOCKET SDK_SEEDS
unset ISORUN_URL ISORUN_API_KEY ISORUN_TOKEN

node_tests "$TEST: seeds" "$SDK/build/test/seeds.test.js"
node_tests "$TEST: api" "$SDK/build/test/daemon.test.js" \
    nsenter --net=/run/netns/"$U-host" env SDK_TCP_URL=http://127.0.0.1:8420 \
    SDK_TCP_TOKEN="$TOKEN"

api GET /v1/sandboxes
check "no sandbox left behind" '[ "$ST" = 200 ] && [ "$(jv sandboxes)" = "[]" ]' \
    "got $ST $(head -c 300 "$BODYF")"
d_stop
check "isorund: SIGTERM, exit 0 (no leak under ASan)" '[ "$DRC" = 0 ]' \
    "exit $DRC: $(tail -5 "$T/daemon.log")"
exit 0
