// HTTP/1.1 to isorund over its unix socket or TCP, with Node's own http
// and https modules (no fetch: its unix-socket support is not in Node 18).

import * as http from 'node:http';
import * as https from 'node:https';
import type { IncomingMessage } from 'node:http';

import { IsorunError, errorOfResponse } from './errors';

export const DEFAULT_SOCKET = '/run/isorun/isorun.sock';

/** Bodies larger than this wait for "100 Continue". */
const EXPECT_OVER = 64 * 1024;

/** Where isorund is, as `new Isorun()` takes it. */
export interface IsorunOptions {
  /** isorund's unix socket. Default: $ISORUN_SOCKET, else /run/isorun/isorun.sock. */
  socketPath?: string;
  /**
   * isorund's TCP listener, `http://HOST:PORT` (or https:// through a
   * TLS-terminating proxy, with an optional path prefix). Default:
   * $ISORUN_URL. Exclusive with socketPath.
   */
  url?: string;
  /** The bearer token for `url`. Default: $ISORUN_API_KEY, else $ISORUN_TOKEN. */
  token?: string;
}

/** @internal */
export interface Target {
  socketPath?: string;
  url?: URL;
  token?: string;
  desc: string;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

function parseUrl(raw: string, what: string): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new TypeError(`${what} '${raw}': not a URL (want http://HOST:PORT)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new TypeError(`${what} '${raw}': scheme must be http or https`);
  if (u.username !== '' || u.password !== '')
    throw new TypeError(`${what} '${raw}': credentials go in the token, not the URL`);
  if (u.search !== '' || u.hash !== '')
    throw new TypeError(`${what} '${raw}': no query or fragment allowed`);
  if (!u.pathname.endsWith('/'))
    u.pathname += '/';
  return u;
}

/**
 * The CLI's rules (src/api/client.h): an explicit socket, else an explicit
 * URL, else $ISORUN_SOCKET, else $ISORUN_URL, else the default socket.
 * @internal
 */
export function resolveTarget(opts: IsorunOptions,
    env: NodeJS.ProcessEnv): Target {
  if (opts.socketPath !== undefined && opts.url !== undefined)
    throw new TypeError('Isorun: socketPath and url are exclusive; give one');
  if (opts.socketPath !== undefined && opts.socketPath === '')
    throw new TypeError('Isorun: socketPath is empty');
  const token = nonEmpty(opts.token) ?? nonEmpty(env.ISORUN_API_KEY) ??
      nonEmpty(env.ISORUN_TOKEN);
  if (token !== undefined && !/^[\x21-\x7e]+$/.test(token))
    throw new TypeError('Isorun: the token must be printable characters ' +
        'without spaces (check token, ISORUN_API_KEY, ISORUN_TOKEN)');
  let sock = opts.socketPath;
  let url: URL | undefined;
  if (sock === undefined && opts.url !== undefined)
    url = parseUrl(opts.url, 'Isorun: url');
  if (sock === undefined && url === undefined) {
    sock = nonEmpty(env.ISORUN_SOCKET);
    if (sock === undefined && nonEmpty(env.ISORUN_URL) !== undefined)
      url = parseUrl(env.ISORUN_URL as string, 'ISORUN_URL');
  }
  if (url !== undefined) {
    return { url, token, desc: `isorund at ${url.origin}` };
  }
  sock = sock ?? DEFAULT_SOCKET;
  return { socketPath: sock, desc: `isorund at unix socket ${sock}` };
}

const HINTS: Record<string, string> = {
  ENOENT: 'no such socket: is isorund running?',
  ECONNREFUSED: 'connection refused: is isorund running?',
  EACCES: 'permission denied: the socket is for root and the isorun group',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed',
};

function transportError(t: Target, err: unknown,
    signal?: AbortSignal): IsorunError {
  if (err instanceof IsorunError)
    return err;
  const e = err as NodeJS.ErrnoException;
  if (signal?.aborted || (e !== null && typeof e === 'object' &&
      e.name === 'AbortError'))
    return new IsorunError('aborted', 0, `${t.desc}: request aborted`,
        { cause: err });
  const code = e?.code ?? '';
  const why = HINTS[code] ?? e?.message ?? String(err);
  return new IsorunError('unreachable', 0,
      `${t.desc}: ${code && !why.includes(code) ? `${code}: ` : ''}${why}`,
      { cause: err });
}

export interface RequestOptions {
  query?: Record<string, string | undefined>;
  signal?: AbortSignal;
  /** The body is these bytes as application/octet-stream, not JSON. */
  raw?: boolean;
}

/** @internal */
export class Transport {
  readonly target: Target;

  constructor(target: Target) {
    this.target = target;
  }

  private open(method: string, path: string, body: Buffer | undefined,
      opts: RequestOptions, accept: string): http.ClientRequest {
    const t = this.target;
    let p = path;
    if (opts.query !== undefined) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(opts.query))
        if (v !== undefined)
          q.append(k, v);
      const s = q.toString();
      if (s !== '')
        p += `?${s}`;
    }
    const headers: http.OutgoingHttpHeaders = { Accept: accept };
    if (body !== undefined) {
      headers['Content-Type'] = opts.raw ? 'application/octet-stream' :
          'application/json';
      headers['Content-Length'] = body.length;
    }
    const ro: http.RequestOptions = { method, headers, agent: false };
    if (opts.signal !== undefined)
      ro.signal = opts.signal;
    let mod: typeof http | typeof https = http;
    if (t.url !== undefined) {
      mod = t.url.protocol === 'https:' ? https : http;
      ro.protocol = t.url.protocol;
      ro.hostname = t.url.hostname.replace(/^\[(.*)\]$/, '$1');
      if (t.url.port !== '')
        ro.port = Number(t.url.port);
      ro.path = t.url.pathname + p.replace(/^\//, '');
      if (t.token !== undefined)
        headers.Authorization = `Bearer ${t.token}`;
    } else {
      ro.socketPath = t.socketPath;
      ro.host = 'localhost';
      ro.path = p;
    }
    if (body !== undefined && body.length > EXPECT_OVER)
      headers.Expect = '100-continue';
    const req = mod.request(ro);
    if (headers.Expect === undefined) {
      req.end(body);
      return req;
    }
    // isorund refuses a body over its limit from Content-Length, answers at
    // once and closes: writing the body then would fail with EPIPE and lose
    // the answer. So a large body waits for "100 Continue" (or, from a
    // server that ignores Expect, a second).
    let sent = false;
    const send = () => {
      if (!sent) {
        sent = true;
        clearTimeout(timer);
        req.end(body);
      }
    };
    const timer = setTimeout(send, 1000);
    req.on('continue', send);
    req.on('response', (res: IncomingMessage) => {
      if (!sent) {
        sent = true;
        clearTimeout(timer);
        res.on('end', () => req.destroy());
      }
    });
    req.on('close', () => clearTimeout(timer));
    return req;
  }

  /**
   * One request; resolves with the status and text of a 2xx answer,
   * rejects with an IsorunError otherwise.
   */
  private exchange(method: string, path: string, body: unknown,
      opts: RequestOptions): Promise<{ status: number; text: string }> {
    const what = `${method} ${path}`;
    return new Promise((resolve, reject) => {
      const fail = (err: unknown) =>
        reject(transportError(this.target, err, opts.signal));
      if (opts.signal?.aborted) {
        fail(new Error('aborted'));
        return;
      }
      let data: Buffer | undefined;
      if (opts.raw && (typeof body === 'string' || Buffer.isBuffer(body)))
        data = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
      else if (body !== undefined)
        data = Buffer.from(JSON.stringify(body), 'utf8');
      let req: http.ClientRequest;
      try {
        req = this.open(method, path, data, opts, 'application/json');
      } catch (err) {
        fail(err);
        return;
      }
      req.on('error', fail);
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', fail);
        res.on('close', () => {
          if (!res.complete)
            fail(new Error('the connection closed before the whole answer came'));
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const text = Buffer.concat(chunks).toString('utf8');
          if (status >= 400) {
            reject(errorOfResponse(status, text, `${this.target.desc}: ${what}`));
            return;
          }
          if (status < 200 || status > 299) {
            reject(new IsorunError('bad_response', status,
                `${this.target.desc}: ${what}: unexpected HTTP ${status}`));
            return;
          }
          resolve({ status, text });
        });
      });
    });
  }

  /**
   * One request; resolves with the parsed JSON of a 2xx answer (undefined
   * for 204), rejects with an IsorunError otherwise.
   */
  async request<T>(method: string, path: string, body?: unknown,
      opts: RequestOptions = {}): Promise<T> {
    const { status, text } = await this.exchange(method, path, body, opts);
    if (status === 204)
      return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new IsorunError('bad_response', status,
          `${this.target.desc}: ${method} ${path}: the answer is not JSON: ` +
          `'${text.slice(0, 100)}'`, { cause: err });
    }
  }

  /** One request whose 2xx answer has no body: resolves with its status. */
  async requestStatus(method: string, path: string, body?: unknown,
      opts: RequestOptions = {}): Promise<number> {
    return (await this.exchange(method, path, body, opts)).status;
  }

  /**
   * A GET whose 200 answer is NDJSON: yields one parsed value per line
   * until the server ends it. Leaving the loop closes the connection.
   */
  async *lines<T>(path: string, opts: RequestOptions = {}): AsyncGenerator<T> {
    const what = `GET ${path}`;
    let req: http.ClientRequest | undefined;
    try {
      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        const fail = (err: unknown) =>
          reject(transportError(this.target, err, opts.signal));
        if (opts.signal?.aborted) {
          fail(new Error('aborted'));
          return;
        }
        try {
          req = this.open('GET', path, undefined, opts,
              'application/x-ndjson');
        } catch (err) {
          fail(err);
          return;
        }
        req.on('error', fail);
        req.on('response', resolve);
      });
      const status = res.statusCode ?? 0;
      if (status !== 200) {
        const chunks: Buffer[] = [];
        for await (const c of res)
          chunks.push(c as Buffer);
        throw errorOfResponse(status >= 400 ? status : 502,
            Buffer.concat(chunks).toString('utf8'),
            `${this.target.desc}: ${what}`);
      }
      let rest = '';
      try {
        res.setEncoding('utf8');
        for await (const chunk of res) {
          rest += chunk as string;
          let nl: number;
          while ((nl = rest.indexOf('\n')) >= 0) {
            const line = rest.slice(0, nl).trim();
            rest = rest.slice(nl + 1);
            if (line !== '')
              yield parseLine<T>(line, this.target, what);
          }
        }
      } catch (err) {
        throw transportError(this.target, err, opts.signal);
      }
      if (!res.complete)
        throw transportError(this.target,
            new Error('the connection closed before the answer ended'),
            opts.signal);
      if (rest.trim() !== '')
        yield parseLine<T>(rest.trim(), this.target, what);
    } finally {
      req?.destroy();
    }
  }
}

function parseLine<T>(line: string, t: Target, what: string): T {
  try {
    return JSON.parse(line) as T;
  } catch (err) {
    throw new IsorunError('bad_response', 200,
        `${t.desc}: ${what}: a line is not JSON: '${line.slice(0, 100)}'`,
        { cause: err });
  }
}
