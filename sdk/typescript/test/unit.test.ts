// The SDK against a fake isorund on a unix socket (and one on loopback TCP):
// what goes on the wire, and how answers and failures come back. Needs no
// root and no daemon: `npm test`.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';

import { Isorun, IsorunError, Sandbox } from 'isorun';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

type Reply = (req: Seen, res: http.ServerResponse) => void;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'isorun-sdk-unit-'));
const sock = path.join(dir, 'sock');
const seen: Seen[] = [];
let reply: Reply = (_q, res) => json(res, 500, {});

function json(res: http.ServerResponse, status: number, v: unknown): void {
  const b = JSON.stringify(v);
  res.writeHead(status, { 'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(b) });
  res.end(b);
}

function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const s: Seen = { method: req.method ?? '', url: req.url ?? '',
      headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
    seen.push(s);
    reply(s, res);
  });
}

// Expect: 100-continue: 'continue' answers it, 'refuse' answers 413 from
// the headers alone (as isorund does), 'ignore' reads the body without it.
let expect: 'continue' | 'refuse' | 'ignore' = 'continue';
function checkContinue(req: http.IncomingMessage, res: http.ServerResponse): void {
  if (expect === 'refuse') {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers,
      body: '' });
    res.setHeader('Connection', 'close');
    json(res, 413, { error: { code: 'payload_too_large',
      message: `body: ${req.headers['content-length']} bytes, over this runner's limit` } });
    return;
  }
  if (expect === 'continue')
    res.writeContinue();
  handler(req, res);
}

const server = http.createServer(handler);
const tcp = http.createServer(handler);
server.on('checkContinue', checkContinue);
const ready = Promise.all([
  new Promise<void>((r) => server.listen(sock, r)),
  new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r)),
]);
after(() => {
  server.closeAllConnections?.();
  tcp.closeAllConnections?.();
  server.close();
  tcp.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const INFO = {
  id: 'sb-0123456789ab', image: 'host', state: 'running',
  createdAt: '2026-11-22T21:00:57.283Z', expiresAt: null,
  network: { allow: ['api.openai.com', 'pypi.org'], deny: ['0.0.0.0/0'] },
  networkProfile: null, networkMode: 'allow-list',
  ipv4: '100.64.0.2', ipv6: '2001:db8:4952::2', endpoints: [],
};
const RESULT = { exitCode: 0, stdout: 'hi\n', stderr: '', timedOut: false,
  durationMs: 3, stdoutTruncated: false, stderrTruncated: false };

function client(): Isorun {
  return new Isorun({ socketPath: sock });
}

async function rejects(p: Promise<unknown>, code: string, status: number,
    msg: RegExp): Promise<IsorunError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof IsorunError, `not an IsorunError: ${String(e)}`);
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'IsorunError');
    assert.equal(e.code, code, e.message);
    assert.equal(e.status, status, e.message);
    assert.match(e.message, msg);
    return e;
  }
  assert.fail('resolved; wanted an IsorunError');
}

function withEnv(env: Record<string, string | undefined>, f: () => void): void {
  const old: Record<string, string | undefined> = {};
  for (const k of Object.keys(env)) {
    old[k] = process.env[k];
    if (env[k] === undefined)
      delete process.env[k];
    else
      process.env[k] = env[k];
  }
  try {
    f();
  } finally {
    for (const k of Object.keys(old)) {
      if (old[k] === undefined)
        delete process.env[k];
      else
        process.env[k] = old[k];
    }
  }
}

const NOENV = { ISORUN_SOCKET: undefined, ISORUN_URL: undefined,
  ISORUN_API_KEY: undefined, ISORUN_TOKEN: undefined };

test('create: POST /v1/sandboxes with the options as the body; a Sandbox back', async () => {
  await ready;
  seen.length = 0;
  reply = (_q, res) => json(res, 201, INFO);
  const opts = { image: 'python:3.12-slim',
    network: { deny: ['0.0.0.0/0'], allow: ['api.openai.com', 'pypi.org'] } };
  const sb = await client().create(opts);
  assert.equal(seen.length, 1);
  assert.equal(seen[0].method, 'POST');
  assert.equal(seen[0].url, '/v1/sandboxes');
  assert.equal(seen[0].headers['content-type'], 'application/json');
  assert.equal(seen[0].headers.authorization, undefined);
  assert.deepEqual(JSON.parse(seen[0].body), opts);
  assert.ok(sb instanceof Sandbox);
  assert.equal(sb.id, INFO.id);
  assert.equal(sb.networkMode, 'allow-list');
  assert.deepEqual(sb.network, INFO.network);
  assert.deepEqual(JSON.parse(JSON.stringify(sb)), INFO);
});

test('create with endpoints: sent as given, shown back', async () => {
  seen.length = 0;
  const endpoints = [{ host: 'api.openai.com',
    rules: [{ method: 'POST', path: '/v1/chat/completions', action: 'allow' as const },
      { method: 'DELETE', path: '/v1/admin/*', action: 'deny' as const }],
    default: 'deny' as const,
    credentials: [{ header: 'Authorization', value: 'Bearer ${secret:openai}' },
      'X-Org: ${secret:org}'] }];
  reply = (_q, res) => json(res, 201, { ...INFO, endpoints });
  const sb = await client().create({ networkProfile: 'openai', endpoints });
  assert.deepEqual(JSON.parse(seen[0].body), { networkProfile: 'openai', endpoints });
  assert.deepEqual(sb.endpoints, endpoints);
  assert.deepEqual(sb.toJSON().endpoints, endpoints);
});

test('secrets: set PUTs the value raw (201 new, 204 replaced), list names, delete', async () => {
  seen.length = 0;
  reply = (_q, res) => { res.writeHead(201); res.end(); };
  const c = client();
  assert.equal(await c.secrets.set('openai', 'sk-\u00e9\n x'), true);
  assert.equal(seen[0].method, 'PUT');
  assert.equal(seen[0].url, '/v1/secrets/openai');
  assert.equal(seen[0].headers['content-type'], 'application/octet-stream');
  assert.equal(seen[0].body, 'sk-\u00e9\n x');
  reply = (_q, res) => { res.writeHead(204); res.end(); };
  assert.equal(await c.secrets.set('a b', Buffer.from([1, 2, 3])), false);
  assert.equal(seen[1].url, '/v1/secrets/a%20b');
  assert.equal(seen[1].headers['content-length'], '3');
  reply = (_q, res) => json(res, 200, { secrets: [{ name: 'a' }, { name: 'openai' }] });
  assert.deepEqual(await c.secrets.list(), ['a', 'openai']);
  assert.equal(seen[2].method, 'GET');
  assert.equal(seen[2].url, '/v1/secrets');
  reply = (_q, res) => { res.writeHead(204); res.end(); };
  assert.equal(await c.secrets.delete('openai'), undefined);
  assert.equal(seen[3].method, 'DELETE');
  reply = (_q, res) => json(res, 400, { error: { code: 'invalid_argument',
    message: "secret 'x': the value is empty" } });
  await rejects(c.secrets.set('x', ''), 'invalid_argument', 400, /the value is empty/);
  reply = (_q, res) => json(res, 404, { error: { code: 'not_found',
    message: "secret 'x' is not set" } });
  await rejects(c.secrets.delete('x'), 'not_found', 404, /is not set/);
});

test('create with no options sends {}', async () => {
  seen.length = 0;
  reply = (_q, res) => json(res, 201, INFO);
  await client().create();
  assert.equal(seen[0].body, '{}');
});

test('exec: a string and an argv go as cmd, options beside it, the signal not', async () => {
  seen.length = 0;
  reply = (_q, res) => json(res, 201, INFO);
  const sb = await client().create();
  reply = (_q, res) => json(res, 200, RESULT);
  const r = await sb.exec('pip install openai');
  assert.deepEqual(r, RESULT);
  await sb.exec(['printf', '%s', 'a b'], { env: { A: '1' }, cwd: '/tmp',
    stdin: 'x\n', timeoutMs: 500, signal: new AbortController().signal });
  assert.equal(seen[1].url, `/v1/sandboxes/${INFO.id}/exec`);
  assert.deepEqual(JSON.parse(seen[1].body), { cmd: 'pip install openai' });
  assert.deepEqual(JSON.parse(seen[2].body), { cmd: ['printf', '%s', 'a b'],
    env: { A: '1' }, cwd: '/tmp', stdin: 'x\n', timeoutMs: 500 });
});

test('a non-zero exitCode is a result, not an error', async () => {
  reply = (_q, res) => json(res, 201, INFO);
  const sb = await client().create();
  reply = (_q, res) => json(res, 200, { ...RESULT, exitCode: 7 });
  assert.equal((await sb.exec('false')).exitCode, 7);
});

test('destroy: DELETE, 204 resolves; a 404 rejects with IsorunError not_found', async () => {
  reply = (_q, res) => json(res, 201, INFO);
  const sb = await client().create();
  seen.length = 0;
  reply = (_q, res) => { res.writeHead(204); res.end(); };
  assert.equal(await sb.destroy(), undefined);
  assert.equal(seen[0].method, 'DELETE');
  assert.equal(seen[0].url, `/v1/sandboxes/${INFO.id}`);
  assert.equal(seen[0].body, '');
  reply = (_q, res) => json(res, 404, { error: { code: 'not_found',
    message: `no sandbox '${INFO.id}'` } });
  await rejects(sb.destroy(), 'not_found', 404, /^no sandbox 'sb-0123456789ab'$/);
});

test('API errors: code, status and message as isorund gave them', async () => {
  reply = (_q, res) => json(res, 400, { error: { code: 'invalid_argument',
    message: "network.allow[1] '*foo.com': '*' must be a whole label" } });
  await rejects(client().create({ network: { allow: ['a.com', '*foo.com'] } }),
      'invalid_argument', 400, /^network\.allow\[1\] '\*foo\.com'/);
  reply = (_q, res) => json(res, 429, { error: { code: 'rate_limited',
    message: 'slow down' } });
  await rejects(client().list(), 'rate_limited', 429, /^slow down$/);
});

test('an error answer that is not the API\'s: a code from the status, the body in the message', async () => {
  reply = (_q, res) => {
    res.writeHead(502, { 'Content-Type': 'text/html' });
    res.end('<html>\n<body>Bad Gateway</body></html>');
  };
  await rejects(client().list(), 'unavailable', 502,
      /GET \/v1\/sandboxes: HTTP 502: <html> <body>Bad Gateway/);
  reply = (_q, res) => json(res, 413, { oops: 1 });
  await rejects(client().create(), 'payload_too_large', 413, /HTTP 413/);
});

test('a 2xx answer that is not JSON: bad_response', async () => {
  reply = (_q, res) => { res.writeHead(200); res.end('hello'); };
  await rejects(client().networkProfiles(), 'bad_response', 200,
      /GET \/v1\/network-profiles: the answer is not JSON: 'hello'/);
});

test('the connection closed before the whole answer: unreachable', async () => {
  reply = (_q, res) => {
    res.writeHead(200, { 'Content-Length': '100' });
    res.write('{"id":');
    setTimeout(() => res.destroy(), 20);
  };
  await rejects(client().list(), 'unreachable', 0,
      /sock: (ECONNRESET: connection reset|the connection closed before the whole answer came)$/);
});

test('no daemon: unreachable, naming the socket', async () => {
  const missing = path.join(dir, 'nosuch.sock');
  await rejects(new Isorun({ socketPath: missing }).list(), 'unreachable', 0,
      new RegExp(`unix socket ${missing}: .*is isorund running\\?`));
  const e = await rejects(new Isorun({ url: 'http://127.0.0.1:1' }).health(),
      'unreachable', 0, /^isorund at http:\/\/127\.0\.0\.1:1: /);
  assert.ok(e.cause instanceof Error);
});

test('ids are escaped in paths', async () => {
  seen.length = 0;
  reply = (_q, res) => json(res, 404, { error: { code: 'not_found', message: 'no' } });
  await rejects(client().get('a/b?c'), 'not_found', 404, /^no$/);
  assert.equal(seen[0].url, '/v1/sandboxes/a%2Fb%3Fc');
});

test('get, list, networkProfiles, health: the answers as they are', async () => {
  const prof = [{ name: 'unrestricted', description: 'd', mode: 'allow-all',
    allow: [], deny: [], source: 'builtin' }];
  const health = { status: 'ok', version: '0.1', runner: 'r', sandboxes: 1,
    uptimeMs: 5 };
  seen.length = 0;
  reply = (q, res) => {
    if (q.url === '/v1/sandboxes')
      json(res, 200, { sandboxes: [INFO, { ...INFO, id: 'b' }] });
    else if (q.url === '/v1/network-profiles')
      json(res, 200, prof);
    else if (q.url === '/healthz')
      json(res, 200, health);
    else
      json(res, 200, INFO);
  };
  const c = client();
  const l = await c.list();
  assert.deepEqual(l.map((s) => s.id), [INFO.id, 'b']);
  assert.ok(l[1] instanceof Sandbox);
  assert.equal((await c.get(INFO.id)).ipv4, INFO.ipv4);
  assert.deepEqual(await c.networkProfiles(), prof);
  assert.deepEqual(await c.health(), health);
  assert.deepEqual(seen.map((s) => `${s.method} ${s.url}`), ['GET /v1/sandboxes',
    `GET /v1/sandboxes/${INFO.id}`, 'GET /v1/network-profiles', 'GET /healthz']);
  assert.ok(seen.every((s) => s.body === '' && s.headers['content-type'] === undefined));
});

test('setNetwork and refresh: PUT the request, the record updated', async () => {
  reply = (_q, res) => json(res, 201, INFO);
  const sb = await client().create();
  seen.length = 0;
  const locked = { ...INFO, network: { allow: [], deny: ['0.0.0.0/0', '::/0'] },
    networkProfile: 'locked-down', networkMode: 'deny-all' };
  reply = (_q, res) => json(res, 200, locked);
  assert.equal(await sb.setNetwork({ networkProfile: 'locked-down' }), sb);
  assert.equal(seen[0].method, 'PUT');
  assert.equal(seen[0].url, `/v1/sandboxes/${INFO.id}/network`);
  assert.deepEqual(JSON.parse(seen[0].body), { networkProfile: 'locked-down' });
  assert.equal(sb.networkMode, 'deny-all');
  assert.equal(sb.networkProfile, 'locked-down');
  await sb.setNetwork({ network: { allow: ['a.test'] } });
  assert.deepEqual(JSON.parse(seen[1].body), { network: { allow: ['a.test'] } });
  reply = (_q, res) => json(res, 200, { ...INFO, state: 'exited' });
  await sb.refresh();
  assert.equal(sb.state, 'exited');
  assert.equal(seen[2].method, 'GET');
});

test('setEndpoints: PUT the list, the record updated', async () => {
  reply = (_q, res) => json(res, 201, INFO);
  const sb = await client().create();
  seen.length = 0;
  const eps = [{ host: 'api.example.com', rules: [{ method: 'GET', path: '/v1/*',
    action: 'allow' as const }], credentials: ['Authorization: Bearer ${secret:k}'] }];
  reply = (_q, res) => json(res, 200, { ...INFO, endpoints: eps });
  assert.equal(await sb.setEndpoints(eps), sb);
  assert.equal(seen[0].method, 'PUT');
  assert.equal(seen[0].url, `/v1/sandboxes/${INFO.id}/endpoints`);
  assert.deepEqual(JSON.parse(seen[0].body), { endpoints: eps });
  assert.deepEqual(sb.endpoints, eps);
  reply = (_q, res) => json(res, 200, { ...INFO, endpoints: [] });
  await sb.setEndpoints([]);
  assert.deepEqual(JSON.parse(seen[1].body), { endpoints: [] });
  assert.deepEqual(sb.endpoints, []);
});

test('audit: the query parameters', async () => {
  seen.length = 0;
  const ev = { time_ns: 1, sandbox: 'x', event: 'connect', proto: 'tcp',
    src: null, sport: null, dst: '192.0.2.12', dport: 443, name: null,
    name_source: 'none', verdict: 'blocked', rule: 'default', reason: 'r' };
  reply = (_q, res) => json(res, 200, { events: [ev] });
  const c = client();
  assert.deepEqual(await c.audit('x'), [ev]);
  await c.audit('x', { since: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)),
    verdict: 'blocked', limit: 10 });
  await c.audit('x', { since: 1795378787174112000n });
  await c.audit('x', { since: '90s' });
  assert.deepEqual(seen.map((s) => s.url), ['/v1/sandboxes/x/audit',
    '/v1/sandboxes/x/audit?since=2026-01-02T03%3A04%3A05.000Z&verdict=blocked&limit=10',
    '/v1/sandboxes/x/audit?since=1795378787174112000',
    '/v1/sandboxes/x/audit?since=90s']);
});

test('followAudit: NDJSON lines as they come; leaving the loop closes the connection', async () => {
  reply = (_q, res) => json(res, 201, INFO);
  const sb = await client().create();
  let closed: Promise<void> = Promise.resolve();
  reply = (q, res) => {
    assert.equal(q.url, `/v1/sandboxes/${INFO.id}/audit?verdict=any&follow=1`);
    assert.equal(q.headers.accept, 'application/x-ndjson');
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
    res.write('{"n":1}\n{"n":');
    setTimeout(() => res.write('2}\n\n{"n":3}\n'), 30);
    closed = new Promise((r) => res.on('close', r));
  };
  const got: unknown[] = [];
  for await (const ev of sb.followAudit({ verdict: 'any' })) {
    got.push(ev);
    if (got.length === 3)
      break;
  }
  assert.deepEqual(got, [{ n: 1 }, { n: 2 }, { n: 3 }]);
  await closed;
});

test('followAudit: the stream ends when the server ends it; a bad line is bad_response', async () => {
  reply = (_q, res) => json(res, 201, INFO);
  const sb = await client().create();
  reply = (_q, res) => {
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
    res.end('{"n":1}\n{"n":2}');
  };
  const got: unknown[] = [];
  for await (const ev of sb.followAudit())
    got.push(ev);
  assert.deepEqual(got, [{ n: 1 }, { n: 2 }]);
  reply = (_q, res) => {
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
    res.end('{"n":1}\nnot json\n');
  };
  const it = sb.followAudit();
  assert.deepEqual((await it.next()).value, { n: 1 });
  await rejects(it.next(), 'bad_response', 200, /a line is not JSON: 'not json'/);
});

test('followAudit: an error answer rejects the first next()', async () => {
  reply = (_q, res) => json(res, 201, INFO);
  const sb = await client().create();
  reply = (_q, res) => json(res, 501, { error: { code: 'not_implemented',
    message: 'the audit store is off' } });
  await rejects(sb.followAudit().next(), 'not_implemented', 501, /audit store is off/);
});

test('an AbortSignal abandons a request: aborted', async () => {
  reply = (_q, res) => json(res, 201, INFO);
  const sb = await client().create();
  reply = (_q, res) => { setTimeout(() => json(res, 200, RESULT), 2000); };
  const t0 = Date.now();
  await rejects(sb.exec('sleep 2', { signal: AbortSignal.timeout(100) }),
      'aborted', 0, /request aborted/);
  assert.ok(Date.now() - t0 < 1500);
  const ac = new AbortController();
  ac.abort();
  await rejects(sb.exec('true', { signal: ac.signal }), 'aborted', 0, /aborted/);
});

test('where to connect: options, then ISORUN_SOCKET, then ISORUN_URL, then the default', () => {
  withEnv(NOENV, () => {
    assert.equal(new Isorun().target, 'isorund at unix socket /run/isorun/isorun.sock');
    assert.equal(new Isorun({ socketPath: '/x.sock' }).target, 'isorund at unix socket /x.sock');
  });
  withEnv({ ...NOENV, ISORUN_SOCKET: '/env.sock', ISORUN_URL: 'http://127.0.0.1:9' }, () => {
    assert.equal(new Isorun().target, 'isorund at unix socket /env.sock');
    assert.equal(new Isorun({ url: 'http://[::1]:8420' }).target, 'isorund at http://[::1]:8420');
  });
  withEnv({ ...NOENV, ISORUN_URL: 'http://127.0.0.1:8420/' }, () => {
    assert.equal(new Isorun().target, 'isorund at http://127.0.0.1:8420');
    assert.equal(new Isorun({ socketPath: '/s' }).target, 'isorund at unix socket /s');
  });
});

test('bad places: TypeError naming the option or variable', () => {
  assert.throws(() => new Isorun({ socketPath: '/a', url: 'http://b:1' }),
      { name: 'TypeError', message: /socketPath and url are exclusive/ });
  assert.throws(() => new Isorun({ socketPath: '' }), /socketPath is empty/);
  assert.throws(() => new Isorun({ url: 'unix:/x' }), /url 'unix:\/x': scheme must be http or https/);
  assert.throws(() => new Isorun({ url: 'localhost:8420' }), /scheme must be http/);
  assert.throws(() => new Isorun({ url: '127.0.0.1:8420' }), /url '127.0.0.1:8420': not a URL/);
  assert.throws(() => new Isorun({ url: 'http://u:p@h:1' }), /credentials go in the token/);
  assert.throws(() => new Isorun({ url: 'http://h:1/?a=b' }), /no query or fragment/);
  assert.throws(() => new Isorun({ url: 'http://h:1', token: 'a b\r\nX: y' }),
      /token must be printable characters without spaces/);
  withEnv({ ...NOENV, ISORUN_API_KEY: 'tok\n' }, () =>
    assert.throws(() => new Isorun(), /ISORUN_API_KEY/));
  withEnv({ ...NOENV, ISORUN_URL: 'ftp://h' }, () =>
    assert.throws(() => new Isorun(), /^TypeError: ISORUN_URL 'ftp:\/\/h': scheme/));
});

test('TCP: the bearer token from the options, ISORUN_API_KEY or ISORUN_TOKEN', async () => {
  const port = (tcp.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  reply = (_q, res) => json(res, 200, { sandboxes: [] });
  seen.length = 0;
  const clients: Isorun[] = [new Isorun({ url, token: 'opt-token-0123456789' })];
  withEnv({ ...NOENV, ISORUN_URL: `${url}/prefix`, ISORUN_API_KEY: 'key-0123456789abcdef',
    ISORUN_TOKEN: 'tok-x' }, () => clients.push(new Isorun()));
  withEnv({ ...NOENV, ISORUN_URL: url, ISORUN_TOKEN: 'tok-0123456789abcdef' },
      () => clients.push(new Isorun()));
  withEnv({ ...NOENV, ISORUN_URL: url }, () => clients.push(new Isorun()));
  for (const c of clients)
    await c.list();
  const by = (u: string, a: string | undefined) =>
    seen.some((s) => s.url === u && s.headers.authorization === a);
  assert.ok(by('/v1/sandboxes', 'Bearer opt-token-0123456789'));
  assert.ok(by('/prefix/v1/sandboxes', 'Bearer key-0123456789abcdef'));
  assert.ok(by('/v1/sandboxes', 'Bearer tok-0123456789abcdef'));
  assert.ok(by('/v1/sandboxes', undefined));
  reply = (_q, res) => {
    res.setHeader('WWW-Authenticate', 'Bearer');
    json(res, 401, { error: { code: 'unauthenticated', message: 'bad token' } });
  };
  await rejects(new Isorun({ url, token: 'wrong' }).list(), 'unauthenticated', 401, /^bad token$/);
});

test('the unix socket never carries the token', async () => {
  seen.length = 0;
  reply = (_q, res) => json(res, 200, { sandboxes: [] });
  await new Isorun({ socketPath: sock, token: 'secret-0123456789' }).list();
  assert.equal(seen[0].headers.authorization, undefined);
});

test('a large body waits for 100 Continue: a 413 from the headers comes back whole', async () => {
  reply = (_q, res) => json(res, 201, INFO);
  const sb = await client().create();
  const big = 'y'.repeat(2 * 1024 * 1024);
  try {
    for (let i = 0; i < 5; i++) {
      seen.length = 0;
      expect = 'refuse';
      await rejects(sb.exec('cat', { stdin: big }), 'payload_too_large', 413,
          /^body: \d+ bytes, over this runner's limit$/);
      assert.equal(seen[0].headers.expect, '100-continue');
    }
    expect = 'continue';
    seen.length = 0;
    reply = (_q, res) => json(res, 200, RESULT);
    await sb.exec('cat', { stdin: big });
    assert.equal(JSON.parse(seen[0].body).stdin.length, big.length);
    expect = 'ignore';
    seen.length = 0;
    const t0 = Date.now();
    await sb.exec('cat', { stdin: big });
    assert.equal(JSON.parse(seen[0].body).stdin.length, big.length);
    assert.ok(Date.now() - t0 >= 900, 'sent after a second without 100 Continue');
    seen.length = 0;
    await sb.exec('cat', { stdin: 'small' });
    assert.equal(seen[0].headers.expect, undefined);
  } finally {
    expect = 'continue';
  }
});
