// After `tsc -p tsconfig.test.json`: build/examples/ holds ES modules (the
// seeds' top-level await), and `import 'isorun'` from build/ must find this
// package, as it would once installed.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const build = path.join(__dirname, '..', 'build');
fs.writeFileSync(path.join(build, 'examples', 'package.json'),
    '{ "type": "module" }\n');
fs.mkdirSync(path.join(build, 'node_modules'), { recursive: true });
const link = path.join(build, 'node_modules', 'isorun');
try {
  if (fs.readlinkSync(link) === path.join('..', '..'))
    process.exit(0);
  fs.unlinkSync(link);
} catch (e) {
  if (e.code !== 'ENOENT')
    throw e;
}
fs.symlinkSync(path.join('..', '..'), link);
