#!/bin/sh
# Builds the TypeScript SDK (sdk/typescript): the compiler and Node's types
# from the npm registry at the versions package-lock.json pins (npm ci, only
# when node_modules does not hold them), then dist/ (the package) and build/
# (the seeds' examples and the tests). Needs node >= 18 and npm (Debian 12:
# apt-get install nodejs npm).
set -eu
cd "$(dirname "$0")/../sdk/typescript"
for p in node npm; do
	command -v "$p" >/dev/null 2>&1 || {
		echo "build-sdk: $p not found (apt-get install nodejs npm)" >&2
		exit 1
	}
done
node -e 'if (+process.versions.node.split(".")[0] < 18) {
	console.error("build-sdk: node " + process.version + " is too old: need 18 or newer");
	process.exit(1) }'
# The lockfile's versions against what node_modules has.
if ! node -e '
const lock = require("./package-lock.json").packages;
for (const [p, v] of Object.entries(lock)) {
	if (p === "") continue;
	let have;
	try { have = require("./" + p + "/package.json").version } catch { process.exit(1) }
	if (have !== v.version) process.exit(1);
}' 2>/dev/null; then
	npm ci --no-audit --no-fund --ignore-scripts >&2
fi
# stale OUT INPUT...: OUT is missing or an input is newer.
stale() {
	_o=$1
	shift
	[ ! -e "$_o" ] || [ -n "$(find "$@" -newer "$_o" 2>/dev/null | head -n 1)" ]
}
if stale dist/index.js src tsconfig.json package-lock.json; then
	node node_modules/typescript/bin/tsc -p tsconfig.json
	touch dist/index.js
fi
if stale build/test/seeds.test.js examples test tsconfig.test.json dist/index.js; then
	node node_modules/typescript/bin/tsc -p tsconfig.test.json
	touch build/test/seeds.test.js
fi
node test/layout.cjs
echo "build-sdk: built sdk/typescript/dist (package) and sdk/typescript/build (examples, tests)" >&2
