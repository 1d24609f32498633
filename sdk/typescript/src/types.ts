// The shapes of isorund's API (api/openapi.json, components.schemas), one
// type per schema; option types are the request bodies the SDK sends as
// they are.

/** Error codes of the API's `{ "error": { "code", "message" } }`. */
export type ApiErrorCode =
  | 'invalid_json'
  | 'invalid_argument'
  | 'unauthenticated'
  | 'not_found'
  | 'method_not_allowed'
  | 'already_exists'
  | 'conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'internal'
  | 'not_implemented'
  | 'unavailable';

/**
 * Codes of errors that happen in the client, with `status` 0:
 * `unreachable` (no connection to isorund, or it closed the connection
 * before answering), `bad_response` (not the API's JSON), `aborted`
 * (the caller's AbortSignal).
 */
export type ClientErrorCode = 'unreachable' | 'bad_response' | 'aborted';

/** How egress is decided, from the rules. */
export type NetworkMode = 'allow-all' | 'deny-list' | 'allow-list' | 'deny-all';

/**
 * An egress policy by rules (schema Network). Deny rules first, then allow;
 * with any allow rule (or a catch-all deny) what matches nothing is blocked.
 * A rule is a CIDR (`10.0.0.0/8`), an IP literal, a hostname matched
 * against the connection's name (SNI or Host), or a wildcard
 * (`*.openai.com`, not the apex), each with an optional `:PORT`.
 */
export interface NetworkPolicy {
  allow?: string[];
  deny?: string[];
}

/** The rules in force on a sandbox (schema NetworkRules). */
export interface NetworkRules {
  allow: string[];
  deny: string[];
}

/** Environment variables: names of [A-Za-z0-9_], not starting with a digit. */
export type Env = Record<string, string>;

/**
 * One rule of an endpoint host (schema EndpointRule): `method` is an HTTP
 * method or `*`; `path` exact (`/v1/models`) or a prefix ending in `/*`
 * (`/v1/admin/*`). Deny rules are evaluated first, then allow.
 */
export interface EndpointRule {
  method: string;
  path: string;
  action: 'allow' | 'deny';
}

/**
 * A header the runner adds to each allowed request (the guest's own of
 * that name is dropped): `{ header, value }` or the line `"Name: value"`.
 * In the value, `${secret:NAME}` is the runner-held secret NAME
 * (`isorun.secrets.set()`) and `$$` a literal `$`.
 */
export type EndpointCredential = { header: string; value: string } | string;

/**
 * Endpoint rules and credentials for one host (schema EndpointHost;
 * docs/endpoints.md). The host must be permitted by the network policy;
 * its TLS is then terminated by the runner, whose CA the sandbox trusts.
 */
export interface EndpointHost {
  /** A DNS name, optionally `:port` (443). No wildcards, no IP literals. */
  host: string;
  rules?: EndpointRule[];
  /** Default: `deny` if there is an allow rule, else `allow`. */
  default?: 'allow' | 'deny';
  credentials?: EndpointCredential[];
}

/** A secret's entry in `isorun.secrets.list()` (names only, never values). */
export interface SecretInfo {
  name: string;
}

/**
 * `isorun.create()` (schema CreateRequest). `network` and
 * `networkProfile` are mutually exclusive; neither means the profile
 * `unrestricted`.
 */
export interface CreateOptions {
  /** Default: `sb-` and 12 hex digits. `^[A-Za-z0-9][A-Za-z0-9_-]{0,47}$` */
  id?: string;
  /** `host` (default), an absolute rootfs path, or an imported image name. */
  image?: string;
  network?: NetworkPolicy;
  /** A name of `isorun.networkProfiles()`. */
  networkProfile?: string;
  /** Variables of every exec in the sandbox. */
  env?: Env;
  /** The sandbox's lifetime in ms: isorund destroys it after that. */
  timeoutMs?: number;
  /**
   * Method/path rules and injected credentials per host, e.g.
   * `[{ host: 'api.openai.com', rules: [{ method: 'POST', path:
   * '/v1/chat/completions', action: 'allow' }], credentials:
   * ['Authorization: Bearer ${secret:openai}'] }]`.
   */
  endpoints?: EndpointHost[];
}

/** `sandbox.setNetwork()` (schema NetworkRequest): exactly one of the two. */
export type SetNetworkOptions =
  | { network: NetworkPolicy; networkProfile?: undefined }
  | { networkProfile: string; network?: undefined };

/** A sandbox as isorund describes it (schema Sandbox). */
export interface SandboxInfo {
  id: string;
  image: string;
  /** `exited`: its init died; it can only be destroyed. */
  state: 'running' | 'exited';
  /** RFC 3339, UTC. */
  createdAt: string;
  /** When its lifetime ends; null: never. */
  expiresAt: string | null;
  /** The rules in force (a profile's are copied at create or change). */
  network: NetworkRules;
  /** The profile the rules came from; null: rules given. */
  networkProfile: string | null;
  networkMode: NetworkMode;
  /** The sandbox's addresses: the source of its connections. */
  ipv4: string;
  ipv6: string;
  /** As given at create (templates, never secret values); [] if none. */
  endpoints: EndpointHost[];
}

/** `sandbox.exec()`'s options (schema ExecRequest, less `cmd`). */
export interface ExecOptions {
  /** Variables for this command, over the sandbox's. */
  env?: Env;
  /** An absolute directory (default: the image's WorkingDir, else /root). */
  cwd?: string;
  /** Text on standard input, then EOF (default: /dev/null). */
  stdin?: string;
  /** Kill the command's process tree after this many ms. */
  timeoutMs?: number;
  /** Abandons the request (the command runs on to its timeout). */
  signal?: AbortSignal;
}

/** What a command did (schema ExecResult). */
export interface ExecResult {
  /** 128+N after signal N; 127 not found, 126 not executable. */
  exitCode: number;
  /** Captured output; bytes that are not UTF-8 become U+FFFD. */
  stdout: string;
  stderr: string;
  /** Killed at `timeoutMs` (exitCode 137). */
  timedOut: boolean;
  durationMs: number;
  /** Output beyond the runner's output_max_bytes was dropped. */
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
}

/** One entry of the runner's live catalogue (schema Profile). */
export interface NetworkProfile {
  name: string;
  description: string;
  mode: NetworkMode;
  allow: string[];
  deny: string[];
  /** `builtin`, or the operator's file. */
  source: string;
}

/** `isorun.health()` (schema Health). */
export interface Health {
  status: 'ok';
  version: string;
  runner: string;
  sandboxes: number;
  uptimeMs: number;
}

/** One decision of the enforcer (schema AuditEvent; docs/audit.md). */
export interface AuditEvent {
  time_ns: number;
  sandbox: string;
  event: 'connect' | 'close' | 'dns';
  proto: 'tcp' | 'udp' | 'icmp' | 'dns';
  src: string | null;
  sport: number | null;
  dst: string | null;
  dport: number | null;
  name: string | null;
  name_source: 'sni' | 'host' | 'dns' | 'none';
  verdict: 'allowed' | 'blocked';
  /** The deciding rule, `default` or `guard`. */
  rule: string | null;
  reason: string | null;
  bytes_up?: number;
  bytes_down?: number;
  duration_ms?: number;
  qname?: string | null;
  qtype?: number;
  rcode?: string | null;
  /** A summary of this many events (a flood). */
  count?: number;
  last_ns?: number;
}

/** `sandbox.audit()`'s query. */
export interface AuditQuery {
  /**
   * How far back: a duration (`90s`, `10m`, `1h30m`, `7d`), an RFC 3339
   * time, a Date, or Unix nanoseconds (a bigint or a string of digits).
   */
  since?: string | Date | bigint;
  verdict?: 'blocked' | 'allowed' | 'any';
  /** Keep the newest this many (1 to 100,000; default 1,000). */
  limit?: number;
  signal?: AbortSignal;
}
