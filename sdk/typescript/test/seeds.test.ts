// The seeds' TypeScript examples (examples/*.ts, compiled) run as they are
// written, with node, against isorund in the closed universe that
// tests/net/sdk_seeds.sh sets up. Each is judged by what it prints (the
// seeds' `// true` lines), by what its commands did (SDK_TRACE, from
// preload.ts), and by the far side: the universe's wan log, DNS log and
// packet counters, and the sandbox's audit trail.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';

import { Isorun, IsorunError } from 'isorun';
import type { AuditEvent } from 'isorun';

function need(name: string): string {
  const v = process.env[name];
  if (v === undefined || v === '')
    throw new Error(`seeds.test: ${name} is not set (run tests/net/sdk_seeds.sh)`);
  return v;
}

const REPO = need('SDK_REPO');
const U = need('SDK_UNIVERSE');
const SOCK = need('ISORUN_SOCKET');
const WLOG = need('UNIVERSE_WAN_LOG');
const DNSLOG = need('UNIVERSE_DNS_LOG');
const BUILD = path.join(__dirname, '..');
const EXAMPLES = path.join(BUILD, 'examples');
const SRC_EXAMPLES = path.join(BUILD, '..', 'examples');
const PRELOAD = path.join(__dirname, 'preload.js');
const NODE = process.env.SDK_NODE ?? process.execPath;
const SEEDS = process.env.SDK_SEEDS ?? '';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'isorun-sdk-seeds-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

interface WanLine {
  proto: string; dst: string; dport: number; sni: string | null;
  host: string | null; path: string | null; status?: number; error?: string;
  paths?: string[];
}
interface Trace {
  op: 'create' | 'exec' | 'destroy'; id: string; cmd?: string | string[];
  exitCode?: number; stdout?: string; stderr?: string;
  asked?: { image?: string }; sent?: { image?: string };
}
interface Run {
  code: number | null; stdout: string[]; stderr: string; trace: Trace[];
  wanFrom: number; dnsFrom: number;
}

function universe(...args: string[]): string {
  const r = spawnSync('sh', ['-c', '. tests/net/lib/universe.sub && "$@"', 'sh',
    ...args], { cwd: REPO, encoding: 'utf8' });
  if (r.status !== 0)
    throw new Error(`${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout.trim();
}
const wanCount = (proto: string, addr?: string): number =>
  Number(universe('universe_wan_count', U, proto, ...(addr ? [addr] : [])));

function size(f: string): number {
  try {
    return fs.statSync(f).size;
  } catch {
    return 0;
  }
}
function since(f: string, from: number): string {
  const b = fs.readFileSync(f);
  return b.subarray(Math.min(from, b.length)).toString('utf8');
}
function wanLines(from: number): WanLine[] {
  return since(WLOG, from).split('\n').filter(Boolean)
    .map((l) => JSON.parse(l) as WanLine);
}
function pathsOf(l: WanLine): (string | null)[] {
  return l.paths ?? [l.path];
}
function names(l: WanLine): string {
  return `${l.sni ?? ''} ${l.host ?? ''}`;
}
function show(ls: WanLine[]): string {
  return ls.map((l) => `${l.dst}:${l.dport} ${l.sni ?? '-'} ${l.host ?? '-'}` +
    ` ${pathsOf(l).join(',')} ${l.status ?? ''}${l.error ? ` ${l.error}` : ''}`)
    .join('; ') || '(nothing)';
}

async function waitFor(f: () => boolean, ms = 3000): Promise<boolean> {
  const t0 = Date.now();
  while (!f()) {
    if (Date.now() - t0 > ms)
      return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/** Runs build/examples/NAME.js as a user would, with the preload. */
function runExample(name: string): Promise<Run> {
  universe('universe_wan_reset', U);
  const tracef = path.join(tmp, `${name}.trace`);
  const wanFrom = size(WLOG);
  const dnsFrom = size(DNSLOG);
  return new Promise((resolve, reject) => {
    const p = spawn(NODE, ['--require', PRELOAD, path.join(EXAMPLES, `${name}.js`)],
        { env: { ...process.env, SDK_TRACE: tracef }, cwd: tmp,
          stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const kill = setTimeout(() => p.kill('SIGKILL'), 90_000);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(kill);
      const trace = fs.existsSync(tracef) ? fs.readFileSync(tracef, 'utf8')
        .split('\n').filter(Boolean).map((l) => JSON.parse(l) as Trace) : [];
      for (const l of err.split('\n').filter((x) => x.startsWith('# ')))
        process.stdout.write(`${l} (${name})\n`);
      resolve({ code, stdout: out.split('\n').filter(Boolean), stderr: err,
        trace, wanFrom, dnsFrom });
    });
  });
}

function execOf(r: Run, cmd: string): Trace {
  const t = r.trace.find((x) => x.op === 'exec' && x.cmd === cmd);
  assert.ok(t, `no exec of '${cmd}' in the trace: ${JSON.stringify(r.trace)}`);
  return t;
}
function works(r: Run, cmd: string): void {
  const t = execOf(r, cmd);
  assert.equal(t.exitCode, 0, `'${cmd}' // works: exit ${t.exitCode}: ` +
    `${(t.stderr ?? '').slice(-600)}`);
}
function blocked(r: Run, cmd: string): void {
  const t = execOf(r, cmd);
  assert.notEqual(t.exitCode, 0, `'${cmd}': exit 0: ${t.stdout}`);
  // curl's own words for a refused or unanswered connection, not a
  // missing program or a bad certificate
  assert.ok(t.exitCode !== 127 && t.exitCode !== 60,
      `'${cmd}': exit ${t.exitCode} is not a block: ${t.stderr}`);
}
function cleanRun(r: Run, stdout: string[]): void {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr.slice(-1500)}`);
  assert.deepEqual(r.stdout, stdout, `stderr: ${r.stderr.slice(-800)}`);
  const made = r.trace.filter((t) => t.op === 'create').map((t) => t.id);
  const gone = r.trace.filter((t) => t.op === 'destroy').map((t) => t.id);
  assert.deepEqual(gone, made, 'every sandbox made was destroyed (finally)');
}
function noQuery(r: Run, name: string): void {
  const q = since(DNSLOG, r.dnsFrom).split('\n')
    .filter((l) => l.includes(`] ${name} `));
  assert.deepEqual(q, [], `the resolver was asked for ${name}`);
}
/**
 * The sandbox's audit trail (read after its destroy) has a blocked event
 * that `what` accepts. Right after a destroy the events may not be
 * committed yet: 404 until they are.
 */
async function blockedInAudit(id: string, what: (e: AuditEvent) => boolean,
    desc: string): Promise<void> {
  const isorun = new Isorun({ socketPath: SOCK });
  let evs: AuditEvent[] = [];
  for (let i = 0; i < 30; i++) {
    try {
      evs = await isorun.audit(id, { verdict: 'blocked' });
    } catch (e) {
      if (!(e instanceof IsorunError) || e.status !== 404)
        throw e;
    }
    if (evs.some(what))
      return;
    await new Promise((res) => setTimeout(res, 100));
  }
  assert.fail(`no blocked event for ${desc} in ${id}'s audit: ${JSON.stringify(evs)}`);
}

function image(r: Run): string {
  const c = r.trace.find((t) => t.op === 'create');
  return c?.sent?.image === c?.asked?.image ? `${c?.asked?.image}` :
    `${c?.asked?.image} run as ${c?.sent?.image}`;
}

function rawGet(p: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    http.get({ socketPath: SOCK, path: p }, (res) => {
      let b = '';
      res.on('data', (d: Buffer) => { b += d.toString(); });
      res.on('end', () => resolve(JSON.parse(b)));
    }).on('error', reject);
  });
}

before(() => {
  assert.ok(fs.existsSync(path.join(EXAMPLES, 'package.json')),
      'build/examples is not built (scripts/build-sdk.sh)');
});

test('the examples are the seeds\' code, line for line', { skip: SEEDS === '' ?
    'SDK_SEEDS not set (shared/seeds/ not found)' : false }, () => {
  const seedText = fs.readdirSync(SEEDS).filter((f) => f.endsWith('.txt'))
    .map((f) => fs.readFileSync(path.join(SEEDS, f), 'utf8')).join('\n');
  const files = fs.readdirSync(SRC_EXAMPLES).filter((f) => f.endsWith('.ts'));
  assert.equal(files.length, 4);
  for (const f of files) {
    const lines = fs.readFileSync(path.join(SRC_EXAMPLES, f), 'utf8').split('\n');
    let i = 0;
    while (lines[i].startsWith('//'))
      i++;	// the header saying where it comes from
    let code = lines.slice(i);
    // the one line added for the test, after a blank line
    if (f === 'network-profiles-list.ts')
      code = code.slice(0, code.lastIndexOf('console.log(JSON.stringify(profiles.map((p) => p.name)))'));
    for (const l of code.map((x) => x.trim()).filter(Boolean))
      assert.ok(seedText.includes(l), `${f}: '${l}' is not in the seeds`);
  }
});

test('seed "Allow only what you trust": prints true; pip got openai from pypi.org; example.com reached nobody', async () => {
  const r = await runExample('network-filtering-allow');
  process.stdout.write(`# image: ${image(r)}\n`);
  cleanRun(r, ['true']);
  works(r, 'pip install openai');
  blocked(r, 'curl -m 2 https://example.com');
  let w: WanLine[] = [];
  const got = await waitFor(() => {
    w = wanLines(r.wanFrom);
    return w.some((l) => l.sni === 'pypi.org' && !l.error &&
      pathsOf(l).includes('/packages/openai-1.0.0-py3-none-any.whl'));
  });
  assert.ok(got, `pypi.org never served the wheel: ${show(w)}`);
  assert.ok(w.some((l) => l.sni === 'pypi.org' &&
    pathsOf(l).includes('/simple/openai/')), `no index request: ${show(w)}`);
  assert.deepEqual(w.filter((l) => names(l).includes('example.com')), [],
      'example.com got a connection');
  assert.equal(wanCount('tcp', '192.0.2.10'), 0, 'packets to example.com\'s address');
  noQuery(r, 'example.com');
  assert.deepEqual(w.filter((l) => l.sni !== 'pypi.org'), [],
      `only pypi.org was reached: ${show(w)}`);
  const id = r.trace.find((t) => t.op === 'create')?.id ?? '';
  await blockedInAudit(id, (e) => e.qname === 'example.com' || e.name === 'example.com',
      'example.com');
});

test('seed "Block specific hosts": prints true; example.com served; 169.254.169.254 blocked by the enforcer', async () => {
  const r = await runExample('network-filtering-block');
  cleanRun(r, ['true']);
  works(r, 'curl https://example.com');
  blocked(r, 'curl -m 2 http://169.254.169.254/');
  let w: WanLine[] = [];
  assert.ok(await waitFor(() => {
    w = wanLines(r.wanFrom);
    return w.some((l) => l.sni === 'example.com' && l.status === 200 && !l.error);
  }), `example.com did not serve it: ${show(w)}`);
  assert.deepEqual(w.filter((l) => l.dst === '169.254.169.254' ||
    names(l).includes('metadata')), []);
  const id = r.trace.find((t) => t.op === 'create')?.id ?? '';
  await blockedInAudit(id, (e) => e.event === 'connect' && e.dst === '169.254.169.254' &&
    e.dport === 80 && e.rule === '169.254.169.254', 'the deny rule 169.254.169.254');
});

test('seed "Network Profiles" (list): the live catalogue, built-ins first', async () => {
  const r = await runExample('network-profiles-list');
  assert.equal(r.code, 0, r.stderr);
  const got = JSON.parse(r.stdout[r.stdout.length - 1]) as string[];
  assert.deepEqual(got.slice(0, 4), ['unrestricted', 'locked-down', 'claude-code', 'openai']);
  const raw = (await rawGet('/v1/network-profiles') as { name: string }[]).map((p) => p.name);
  assert.deepEqual(got, raw, 'what GET /v1/network-profiles answers');
  assert.ok(got.includes('team-apis'), 'the operator\'s profile (tests/net/api_lib.sub) is listed');
  assert.match(r.stdout.slice(0, -1).join(' '), /\[ *'unrestricted', *'locked-down',/);
});

test('seed "Network Profiles" (create): locked-down and claude-code print true; anthropic from pypi.org; random-site.com reached nobody', async () => {
  const r = await runExample('network-profiles-create');
  cleanRun(r, ['true', 'true']);
  const [a, b] = r.trace.filter((t) => t.op === 'create');
  const execs = r.trace.filter((t) => t.op === 'exec');
  assert.equal(execs[0].id, a.id);
  assert.notEqual(execs[0].exitCode, 0, 'locked-down: curl https://example.com');
  works(r, 'pip install anthropic');
  blocked(r, 'curl -m 2 https://random-site.com');
  let w: WanLine[] = [];
  assert.ok(await waitFor(() => {
    w = wanLines(r.wanFrom);
    return w.some((l) => l.sni === 'pypi.org' && !l.error &&
      pathsOf(l).includes('/packages/anthropic-1.0.0-py3-none-any.whl'));
  }), `pypi.org never served the wheel: ${show(w)}`);
  assert.deepEqual(w.filter((l) => l.sni !== 'pypi.org'), [],
      `only pypi.org was reached: ${show(w)}`);
  assert.equal(wanCount('tcp', '192.0.2.10'), 0, 'packets to example.com\'s address');
  assert.equal(wanCount('tcp', '203.0.113.10'), 0, 'packets to random-site.com\'s address');
  noQuery(r, 'example.com');
  noQuery(r, 'random-site.com');
  await blockedInAudit(a.id, (e) => e.event === 'dns' && e.qname === 'example.com' &&
    e.rcode === 'REFUSED', 'locked-down refusing example.com');
  await blockedInAudit(b.id, (e) => e.qname === 'random-site.com' || e.name === 'random-site.com',
      'claude-code blocking random-site.com');
});

test('the examples left no sandbox behind', async () => {
  const left = await new Isorun({ socketPath: SOCK }).list();
  assert.deepEqual(left.map((s) => s.id), []);
});
