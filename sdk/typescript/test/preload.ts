// Loaded with `node --require` before a seed example by seeds.test.ts: it
// records what the example did (SDK_TRACE, one JSON line per create, exec
// and destroy) and applies the closed universe's stand-ins that isorund
// has no setting for yet, each announced on stderr:
//   SDK_IMAGE_MAP="python:3.12-slim=host"  the seeds' image, until isorund
//       has an image alias
//   SDK_CA_FILE=PEM  the universe's CA, trusted in every sandbox created
//       (host bundle + CA at CA_BUNDLE, named by the usual variables), until
//       isorund has a ca_file setting (the runner's rc_ca_file)
//   SDK_CREATE_ENV="K=V,..."  variables added to every create (pip's)
// The example's own code is not changed.
import * as fs from 'node:fs';

import { Isorun, Sandbox } from 'isorun';
import type { CreateOptions, ExecOptions, ExecResult } from 'isorun';

const CA_BUNDLE = '/tmp/.isorun-test-ca-bundle.pem';
const CA_VARS = ['SSL_CERT_FILE', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE',
  'PIP_CERT', 'GIT_SSL_CAINFO', 'NODE_EXTRA_CA_CERTS'];

const trace = process.env.SDK_TRACE;
function record(v: object): void {
  if (trace !== undefined)
    fs.appendFileSync(trace, `${JSON.stringify(v)}\n`);
}
function note(msg: string): void {
  process.stderr.write(`# stand-in: ${msg}\n`);
}

const images = new Map<string, string>();
for (const kv of (process.env.SDK_IMAGE_MAP ?? '').split(',').filter(Boolean)) {
  const i = kv.indexOf('=');
  images.set(kv.slice(0, i), kv.slice(i + 1));
}
const createEnv: Record<string, string> = {};
for (const kv of (process.env.SDK_CREATE_ENV ?? '').split(',').filter(Boolean)) {
  const i = kv.indexOf('=');
  createEnv[kv.slice(0, i)] = kv.slice(i + 1);
}
const caFile = process.env.SDK_CA_FILE;
const caPem = caFile !== undefined ? fs.readFileSync(caFile, 'utf8') : undefined;

const create = Isorun.prototype.create;
Isorun.prototype.create = async function (opts: CreateOptions = {}): Promise<Sandbox> {
  const o: CreateOptions = { ...opts };
  const img = o.image !== undefined ? images.get(o.image) : undefined;
  if (img !== undefined) {
    note(`image '${o.image}' -> '${img}' (isorund has no image alias)`);
    o.image = img;
  }
  const env: Record<string, string> = { ...createEnv };
  if (caPem !== undefined)
    for (const v of CA_VARS)
      env[v] = CA_BUNDLE;
  if (Object.keys(env).length > 0)
    o.env = { ...env, ...o.env };
  const sb = await create.call(this, o);
  record({ op: 'create', id: sb.id, asked: opts, sent: o,
    networkMode: sb.networkMode, network: sb.network });
  if (caPem !== undefined) {
    note(`the universe CA trusted in ${sb.id} (isorund has no ca_file)`);
    const r = await exec.call(sb, ['sh', '-c',
      `cat /etc/ssl/certs/ca-certificates.crt - >${CA_BUNDLE}`],
    { stdin: caPem });
    if (r.exitCode !== 0)
      throw new Error(`stand-in: the CA bundle in ${sb.id}: ${r.stderr}`);
  }
  return sb;
};

const exec = Sandbox.prototype.exec;
Sandbox.prototype.exec = async function (this: Sandbox, cmd: string | string[],
    opts?: ExecOptions): Promise<ExecResult> {
  const r = await exec.call(this, cmd, opts);
  record({ op: 'exec', id: this.id, cmd, exitCode: r.exitCode,
    timedOut: r.timedOut, stdout: r.stdout.slice(-2000),
    stderr: r.stderr.slice(-2000) });
  return r;
};

const destroy = Sandbox.prototype.destroy;
Sandbox.prototype.destroy = async function (this: Sandbox): Promise<void> {
  await destroy.call(this);
  record({ op: 'destroy', id: this.id });
};
