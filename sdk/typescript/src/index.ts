// The isorun SDK: sandboxes with a per-sandbox egress policy, run by
// isorund (docs/api.md; the contract is api/openapi.json).
//
//   import { Isorun } from 'isorun'
//   const isorun = new Isorun()
//   const sandbox = await isorun.create({ image: 'host', networkProfile: 'openai' })
//   const r = await sandbox.exec('pip install openai')   // { exitCode, stdout, stderr, ... }
//   await sandbox.destroy()

import { Transport, resolveTarget } from './transport';
import type { IsorunOptions } from './transport';
import type {
  AuditEvent, AuditQuery, CreateOptions, EndpointHost, ExecOptions,
  ExecResult, Health, NetworkMode, NetworkProfile, NetworkRules, SandboxInfo,
  SecretInfo, SetNetworkOptions,
} from './types';

export { IsorunError } from './errors';
export type { IsorunErrorCode } from './errors';
export { DEFAULT_SOCKET } from './transport';
export type { IsorunOptions } from './transport';
export type * from './types';

function sandboxPath(id: string, rest = ''): string {
  return `/v1/sandboxes/${encodeURIComponent(id)}${rest}`;
}

function auditParams(q: AuditQuery): Record<string, string | undefined> {
  let since: string | undefined;
  if (q.since instanceof Date)
    since = q.since.toISOString();
  else if (typeof q.since === 'bigint')
    since = q.since.toString();
  else
    since = q.since;
  return {
    since,
    verdict: q.verdict,
    limit: q.limit === undefined ? undefined : String(q.limit),
  };
}

/**
 * A sandbox of isorund. Its fields are the record as last seen (create,
 * get, list, setNetwork, setEndpoints, refresh); the methods act on the
 * live sandbox.
 */
export class Sandbox implements SandboxInfo {
  readonly id: string;
  image!: string;
  state!: 'running' | 'exited';
  createdAt!: string;
  expiresAt!: string | null;
  network!: NetworkRules;
  networkProfile!: string | null;
  networkMode!: NetworkMode;
  ipv4!: string;
  ipv6!: string;
  endpoints!: EndpointHost[];
  readonly #t: Transport;

  /** Use isorun.create(), get() or list(). */
  constructor(t: Transport, info: SandboxInfo) {
    this.#t = t;
    this.id = info.id;
    this.update(info);
  }

  private update(info: SandboxInfo): void {
    this.image = info.image;
    this.state = info.state;
    this.createdAt = info.createdAt;
    this.expiresAt = info.expiresAt;
    this.network = info.network;
    this.networkProfile = info.networkProfile;
    this.networkMode = info.networkMode;
    this.ipv4 = info.ipv4;
    this.ipv6 = info.ipv6;
    this.endpoints = info.endpoints ?? [];
  }

  /**
   * Runs a command and resolves when it has ended: a string is a shell
   * line (`/bin/sh -c`), an array the argv (searched in PATH). A command
   * that fails is a result with exitCode != 0, not an error.
   */
  async exec(cmd: string | string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const { signal, ...rest } = opts;
    return this.#t.request<ExecResult>('POST', sandboxPath(this.id, '/exec'),
        { cmd, ...rest }, { signal });
  }

  /** Destroys the sandbox (its processes, files and network). */
  async destroy(): Promise<void> {
    await this.#t.request<void>('DELETE', sandboxPath(this.id));
  }

  /**
   * Replaces the sandbox's egress policy while it runs:
   * `{ network: { allow, deny } }` or `{ networkProfile }`.
   */
  async setNetwork(opts: SetNetworkOptions): Promise<this> {
    this.update(await this.#t.request<SandboxInfo>('PUT',
        sandboxPath(this.id, '/network'), opts));
    return this;
  }

  /**
   * Replaces the sandbox's endpoint rules while it runs (`[]` removes
   * them): the next request on every connection is judged by them. Only a
   * sandbox created with endpoints trusts the runner's CA, so only such a
   * sandbox can be given new ones.
   */
  async setEndpoints(endpoints: EndpointHost[]): Promise<this> {
    this.update(await this.#t.request<SandboxInfo>('PUT',
        sandboxPath(this.id, '/endpoints'), { endpoints }));
    return this;
  }

  /** Reads the record again (state, rules, expiry). */
  async refresh(): Promise<this> {
    this.update(await this.#t.request<SandboxInfo>('GET', sandboxPath(this.id)));
    return this;
  }

  /**
   * The sandbox's audit trail, oldest first: every blocked attempt and
   * every permitted connection (at its close). Readable after destroy too.
   */
  async audit(q: AuditQuery = {}): Promise<AuditEvent[]> {
    const r = await this.#t.request<{ events: AuditEvent[] }>('GET',
        sandboxPath(this.id, '/audit'), undefined,
        { query: auditParams(q), signal: q.signal });
    return r.events;
  }

  /**
   * The audit trail as it happens: the events so far, then new ones, until
   * the sandbox is gone (plus 2 s for its last events), isorund stops, or
   * the loop is left.
   *
   *   for await (const ev of sandbox.followAudit({ verdict: 'blocked' }))
   *     console.log(ev.verdict, ev.name ?? ev.dst, ev.reason)
   */
  followAudit(q: AuditQuery = {}): AsyncGenerator<AuditEvent> {
    return this.#t.lines<AuditEvent>(sandboxPath(this.id, '/audit'),
        { query: { ...auditParams(q), follow: '1' }, signal: q.signal });
  }

  /** The record as plain data (what JSON.stringify(sandbox) gives). */
  toJSON(): SandboxInfo {
    return {
      id: this.id, image: this.image, state: this.state,
      createdAt: this.createdAt, expiresAt: this.expiresAt,
      network: this.network, networkProfile: this.networkProfile,
      networkMode: this.networkMode, ipv4: this.ipv4, ipv6: this.ipv6,
      endpoints: this.endpoints,
    };
  }
}

function secretPath(name: string): string {
  return `/v1/secrets/${encodeURIComponent(name)}`;
}

/**
 * The runner's secrets (`isorun.secrets`): values that endpoint
 * credentials inject into a sandbox's requests, so that the sandbox never
 * holds them. Stored by isorund, readable by root only; no call returns a
 * value.
 */
export class Secrets {
  readonly #t: Transport;

  /** Use isorun.secrets. */
  constructor(t: Transport) {
    this.#t = t;
  }

  /**
   * Sets (or replaces) the secret `name` (1 to 64 of [A-Za-z0-9_.-], the
   * first a letter, digit or `_`) to `value`: 1 to 65,536 bytes, no NUL,
   * sent as is. Resolves to true when it is new, false when replaced.
   */
  async set(name: string, value: string | Buffer): Promise<boolean> {
    const r = await this.#t.requestStatus('PUT', secretPath(name), value,
        { raw: true });
    return r === 201;
  }

  /** The names that are set, sorted. */
  async list(): Promise<string[]> {
    const r = await this.#t.request<{ secrets: SecretInfo[] }>('GET',
        '/v1/secrets');
    return r.secrets.map((s) => s.name);
  }

  /** Deletes a secret (IsorunError not_found, 404, if it is not set). */
  async delete(name: string): Promise<void> {
    await this.#t.request<void>('DELETE', secretPath(name));
  }
}

/**
 * A client of isorund. `new Isorun()` talks to $ISORUN_SOCKET, else
 * $ISORUN_URL (token $ISORUN_API_KEY or $ISORUN_TOKEN), else the unix
 * socket /run/isorun/isorun.sock. No connection is made until a call.
 */
export class Isorun {
  readonly #t: Transport;
  /** The runner's secrets: set, list, delete. */
  readonly secrets: Secrets;

  constructor(opts: IsorunOptions = {}) {
    this.#t = new Transport(resolveTarget(opts, process.env));
    this.secrets = new Secrets(this.#t);
  }

  /** Where requests go, for messages: `isorund at unix socket ...`. */
  get target(): string {
    return this.#t.target.desc;
  }

  /**
   * Creates a sandbox; it has its network policy before its first process
   * starts. `network` and `networkProfile` are exclusive; neither is the
   * profile `unrestricted`.
   */
  async create(opts: CreateOptions = {}): Promise<Sandbox> {
    const info = await this.#t.request<SandboxInfo>('POST', '/v1/sandboxes', opts);
    return new Sandbox(this.#t, info);
  }

  /** One sandbox by id (IsorunError not_found, 404, if there is none). */
  async get(id: string): Promise<Sandbox> {
    return new Sandbox(this.#t,
        await this.#t.request<SandboxInfo>('GET', sandboxPath(id)));
  }

  /** Every sandbox of the runner, oldest first. */
  async list(): Promise<Sandbox[]> {
    const r = await this.#t.request<{ sandboxes: SandboxInfo[] }>('GET',
        '/v1/sandboxes');
    return r.sandboxes.map((s) => new Sandbox(this.#t, s));
  }

  /**
   * The runner's live catalogue of network profiles, built-ins first
   * (`unrestricted`, `locked-down`, `claude-code`, `openai`, ...), then the
   * operator's.
   */
  async networkProfiles(): Promise<NetworkProfile[]> {
    return this.#t.request<NetworkProfile[]>('GET', '/v1/network-profiles');
  }

  /**
   * A sandbox's audit trail by id: like sandbox.audit(), and for a
   * sandbox already destroyed too.
   */
  async audit(id: string, q: AuditQuery = {}): Promise<AuditEvent[]> {
    const r = await this.#t.request<{ events: AuditEvent[] }>('GET',
        sandboxPath(id, '/audit'), undefined,
        { query: auditParams(q), signal: q.signal });
    return r.events;
  }

  /** isorund's health: version, runner name, sandbox count, uptime. */
  async health(): Promise<Health> {
    return this.#t.request<Health>('GET', '/healthz');
  }
}
