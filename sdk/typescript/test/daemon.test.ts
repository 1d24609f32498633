// The SDK against the real isorund (tests/net/sdk_seeds.sh starts it in the
// closed universe): errors as IsorunError with isorund's code, status and
// message; exec with argv, env, cwd, stdin and a timeout; live policy
// changes; audit; concurrency; the TCP listener with its token
// (SDK_TCP_URL, SDK_TCP_TOKEN: this process runs in the universe's host
// namespace, where isorund listens).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';

import { Isorun, IsorunError, Sandbox } from 'isorun';
import type { AuditEvent, CreateOptions } from 'isorun';

const SOCK = process.env.ISORUN_SOCKET ?? '';
if (SOCK === '')
  throw new Error('daemon.test: ISORUN_SOCKET is not set (run tests/net/sdk_seeds.sh)');
const TCP = process.env.SDK_TCP_URL ?? '';
const TOKEN = process.env.SDK_TCP_TOKEN ?? '';

const isorun = new Isorun();
const made: Sandbox[] = [];

async function mk(opts: CreateOptions = {}): Promise<Sandbox> {
  const sb = await isorun.create(opts);
  made.push(sb);
  return sb;
}

after(async () => {
  for (const sb of made)
    await sb.destroy().catch(() => undefined);
});

async function rejects(p: Promise<unknown>, code: string, status: number,
    msg: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof IsorunError, `not an IsorunError: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.equal(e.status, status, e.message);
    assert.match(e.message, msg);
    return;
  }
  assert.fail('resolved; wanted an IsorunError');
}

test('new Isorun() finds isorund through ISORUN_SOCKET', async () => {
  assert.equal(isorun.target, `isorund at unix socket ${SOCK}`);
  const h = await isorun.health();
  assert.equal(h.status, 'ok');
  assert.equal(typeof h.version, 'string');
});

test('get of an unknown id: 404 not_found', async () => {
  await rejects(isorun.get('no-such-box'), 'not_found', 404, /no-such-box/);
});

test('a bad rule: 400 invalid_argument naming the field', async () => {
  await rejects(mk({ network: { allow: ['api.openai.com', '*foo.com'] } }),
      'invalid_argument', 400, /network\.allow\[1\] '\*foo\.com'/);
  await rejects(mk({ network: { deny: ['10.0.0.1/8'] } }),
      'invalid_argument', 400, /network\.deny\[0\]/);
});

test('an unknown field: 400 naming it', async () => {
  await rejects(mk({ imagee: 'host' } as unknown as CreateOptions),
      'invalid_argument', 400, /unknown field 'imagee'/);
  const sb = await mk();
  await rejects(sb.exec('true', { timeout: 5 } as never),
      'invalid_argument', 400, /unknown field 'timeout'/);
});

test('network with networkProfile: 400, mutually exclusive', async () => {
  await rejects(mk({ networkProfile: 'openai', network: { allow: ['a.com'] } }),
      'invalid_argument', 400, /networkProfile and network are mutually exclusive/);
});

test('an unknown profile and an unknown image: 400', async () => {
  await rejects(mk({ networkProfile: 'no-such-profile' }), 'invalid_argument', 400,
      /^networkProfile 'no-such-profile': no such profile/);
  await rejects(mk({ image: 'python:3.12-slim-nope' }), 'invalid_argument', 400,
      /import/);
});

test('a duplicate id: 409 already_exists', async () => {
  const sb = await mk({ id: `sdk-dup-${process.pid}` });
  await rejects(mk({ id: sb.id }), 'already_exists', 409, new RegExp(sb.id));
});

test('create: the record as the API describes it', async () => {
  const sb = await mk({ networkProfile: 'claude-code', env: { FROM_CREATE: 'c' } });
  assert.match(sb.id, /^sb-[0-9a-f]{12}$/);
  assert.equal(sb.image, 'host');
  assert.equal(sb.state, 'running');
  assert.equal(sb.networkProfile, 'claude-code');
  assert.equal(sb.networkMode, 'allow-list');
  assert.ok(sb.network.allow.includes('api.anthropic.com'));
  assert.ok(!Number.isNaN(Date.parse(sb.createdAt)));
  assert.equal(sb.expiresAt, null);
  assert.match(sb.ipv4, /^100\.64\./);
  const again = await isorun.get(sb.id);
  assert.deepEqual(again.toJSON(), sb.toJSON());
  assert.ok((await isorun.list()).some((s) => s.id === sb.id));
});

test('exec: argv as given, no shell', async () => {
  const sb = await mk();
  const r = await sb.exec(['printf', '%s|', 'a b', "c'd", '$HOME', '*']);
  assert.equal(r.exitCode, 0, r.stderr);
  assert.equal(r.stdout, "a b|c'd|$HOME|*|");
  assert.equal(r.stderr, '');
  assert.equal(r.timedOut, false);
  assert.equal(typeof r.durationMs, 'number');
  assert.equal((await sb.exec(['no-such-program-x'])).exitCode, 127);
});

test('exec: a string is a shell line; exit codes come back', async () => {
  const sb = await mk();
  const r = await sb.exec('echo out; echo err >&2; exit 3');
  assert.deepEqual([r.exitCode, r.stdout, r.stderr], [3, 'out\n', 'err\n']);
  assert.equal((await sb.exec('kill -TERM $$')).exitCode, 128 + 15);
});

test('exec: env of the create, then of the exec; cwd', async () => {
  const sb = await mk({ env: { A: 'from-create', B: 'from-create' } });
  const r = await sb.exec('echo "$A $B $C"; pwd', { env: { B: 'from-exec', C: 'c' },
    cwd: '/tmp' });
  assert.equal(r.stdout, 'from-create from-exec c\n/tmp\n');
  await rejects(sb.exec('pwd', { cwd: '/no/such/dir' }), 'invalid_argument', 400,
      /\/no\/such\/dir/);
});

test('exec: stdin, text and large', async () => {
  const sb = await mk();
  assert.equal((await sb.exec('cat', { stdin: 'hello\nwörld\n' })).stdout,
      'hello\nwörld\n');
  const big = 'x'.repeat(200_000);
  assert.equal((await sb.exec(['wc', '-c'], { stdin: big })).stdout.trim(), '200000');
  assert.equal((await sb.exec('cat')).stdout, '', 'no stdin: /dev/null');
});

test('exec: a body over the limit is 413 payload_too_large', async () => {
  const sb = await mk();
  // isorund answers from Content-Length and closes: the answer must not be
  // lost to the body still being written (EPIPE)
  for (let i = 0; i < 5; i++) {
    await rejects(sb.exec('cat', { stdin: 'y'.repeat(2 * 1024 * 1024) }),
        'payload_too_large', 413, /over this runner's limit of \d+ \(max_body_bytes\)/);
  }
});

test('exec: timeoutMs kills the command: timedOut, 137', async () => {
  const sb = await mk();
  const t0 = Date.now();
  const r = await sb.exec('sleep 30; echo never', { timeoutMs: 400 });
  assert.equal(r.timedOut, true);
  assert.equal(r.exitCode, 137);
  assert.equal(r.stdout, '');
  assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
  assert.ok(r.durationMs >= 400 && r.durationMs < 5000, `durationMs ${r.durationMs}`);
});

test('exec: an AbortSignal gives up waiting: aborted', async () => {
  const sb = await mk();
  const t0 = Date.now();
  await rejects(sb.exec('sleep 5', { timeoutMs: 6000, signal: AbortSignal.timeout(300) }),
      'aborted', 0, /aborted/);
  assert.ok(Date.now() - t0 < 2000);
});

test('setNetwork: a live change, the record follows', async () => {
  const sb = await mk({ network: { allow: ['api.example.com'] } });
  assert.equal(sb.networkMode, 'allow-list');
  await sb.setNetwork({ networkProfile: 'locked-down' });
  assert.equal(sb.networkProfile, 'locked-down');
  assert.equal(sb.networkMode, 'deny-all');
  const r = await sb.exec('getent hosts allowed.test || echo refused');
  assert.equal(r.stdout, 'refused\n');
  await sb.setNetwork({ network: { allow: ['allowed.test'] } });
  assert.deepEqual(sb.network.allow, ['allowed.test']);
  assert.equal(sb.networkProfile, null);
  assert.match((await sb.exec('getent ahostsv4 allowed.test')).stdout,
      /^192\.0\.2\.11 /);
  await rejects(sb.setNetwork({} as never), 'invalid_argument', 400, /network/);
  // Created without endpoints: it does not trust the runner's CA.
  await rejects(sb.setEndpoints([{ host: 'allowed.test' }]), 'invalid_argument',
      400, /created without endpoints/);
  assert.deepEqual((await sb.refresh()).endpoints, []);
});

test('audit: a blocked connection is in the trail, also after destroy', async () => {
  const sb = await mk({ network: { allow: ['allowed.test'] } });
  const r = await sb.exec(['curl', '-sS', '-m', '2', 'http://192.0.2.12/x']);
  assert.equal(r.stdout, 'isorun: blocked 192.0.2.12 (rule default)\n',
      'the enforcer\'s 403 for plain HTTP');
  let evs = await sb.audit({ verdict: 'blocked' });
  for (let i = 0; i < 30 && !evs.some((e) => e.dst === '192.0.2.12'); i++) {
    await new Promise((res) => setTimeout(res, 100));
    evs = await sb.audit({ verdict: 'blocked' });
  }
  const ev = evs.find((e) => e.dst === '192.0.2.12');
  assert.ok(ev, JSON.stringify(evs));
  assert.equal(ev.sandbox, sb.id);
  assert.equal(ev.verdict, 'blocked');
  assert.equal(ev.dport, 80);
  const it = sb.followAudit({ verdict: 'blocked' });
  const first = await it.next();
  assert.equal((first.value as { dst: string }).dst, '192.0.2.12');
  await it.return(undefined);
  await sb.destroy();
  // committed every 200 ms: until then the id is unknown (404)
  let later: AuditEvent[] = [];
  for (let i = 0; i < 30 && !later.some((e) => e.dst === '192.0.2.12'); i++) {
    await new Promise((res) => setTimeout(res, 100));
    later = await isorun.audit(sb.id, { since: '10m', limit: 100 }).catch((e) => {
      if (e instanceof IsorunError && e.status === 404)
        return [];
      throw e;
    });
  }
  assert.ok(later.some((e) => e.dst === '192.0.2.12'), JSON.stringify(later));
  await rejects(isorun.audit(sb.id, { verdict: 'nope' as never }), 'invalid_argument',
      400, /verdict/);
});

test('destroy: once, then 404 not_found as IsorunError; the sandbox is gone', async () => {
  const sb = await mk();
  await sb.destroy();
  await rejects(sb.destroy(), 'not_found', 404, new RegExp(sb.id));
  await rejects(sb.exec('true'), 'not_found', 404, new RegExp(sb.id));
  await rejects(isorun.get(sb.id), 'not_found', 404, new RegExp(sb.id));
  assert.ok(!(await isorun.list()).some((s) => s.id === sb.id));
});

test('concurrent: 12 execs of 1 s on 3 sandboxes answer side by side', async () => {
  const boxes = await Promise.all([mk(), mk(), mk()]);
  const t0 = Date.now();
  const rs = await Promise.all(Array.from({ length: 12 }, (_, i) =>
    boxes[i % 3].exec(['sh', '-c', `sleep 1; echo done-${i}`])));
  const ms = Date.now() - t0;
  assert.deepEqual(rs.map((r) => r.stdout), rs.map((_, i) => `done-${i}\n`));
  assert.ok(ms < 6000, `took ${ms} ms`);
});

test('TCP with the token; a wrong token is 401 unauthenticated', { skip: TCP === '' ?
    'SDK_TCP_URL not set' : false }, async () => {
  const c = new Isorun({ url: TCP, token: TOKEN });
  assert.equal((await c.health()).status, 'ok');
  const sb = await c.create({ networkProfile: 'locked-down' });
  assert.equal((await sb.exec(['echo', 'over tcp'])).stdout, 'over tcp\n');
  await sb.destroy();
  await rejects(new Isorun({ url: TCP, token: `${TOKEN}x` }).list(),
      'unauthenticated', 401, /./);
  await rejects(new Isorun({ url: TCP }).list(), 'unauthenticated', 401, /./);
});
