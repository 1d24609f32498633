// npm's prepare (npm ci here; `npm install ./sdk/typescript` elsewhere):
// compile when the compiler is here, else use the dist/ already built, else
// say how to build it.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const tsc = path.join(__dirname, 'node_modules', 'typescript', 'bin', 'tsc');
if (fs.existsSync(tsc)) {
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(__dirname, 'tsconfig.json')],
      { stdio: 'inherit' });
  process.exit(r.status === null ? 1 : r.status);
}
if (!fs.existsSync(path.join(__dirname, 'dist', 'index.js'))) {
  console.error('isorun: dist/ is not built and the compiler is not installed here: ' +
      'run scripts/build-sdk.sh (or npm ci in sdk/typescript) first');
  process.exit(1);
}
