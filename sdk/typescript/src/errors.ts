import type { ApiErrorCode, ClientErrorCode } from './types';

/**
 * An IsorunError's code: one of the API's, one of the client's, or a code
 * of a newer isorund, passed on as it came.
 */
export type IsorunErrorCode =
  | ApiErrorCode | ClientErrorCode | (string & Record<never, never>);

/**
 * Every failure of an API call: an error answer of isorund (`status` is the
 * HTTP status, `code` and `message` its `{ error: { code, message } }`), or
 * a failure in the client (`status` 0, `code` a ClientErrorCode).
 * A command that exits non-zero is not an error: see ExecResult.exitCode.
 */
export class IsorunError extends Error {
  readonly code: IsorunErrorCode;
  readonly status: number;

  constructor(code: IsorunErrorCode, status: number,
      message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'IsorunError';
    this.code = code;
    this.status = status;
  }
}

/** The code isorund would give a status, for answers that carry none. */
function codeOfStatus(status: number): ApiErrorCode {
  switch (status) {
  case 401: return 'unauthenticated';
  case 404: return 'not_found';
  case 405: return 'method_not_allowed';
  case 409: return 'conflict';
  case 413: return 'payload_too_large';
  case 415: return 'unsupported_media_type';
  case 501: return 'not_implemented';
  case 502: case 503: case 504: return 'unavailable';
  default: return status >= 500 ? 'internal' : 'invalid_argument';
  }
}

/**
 * The error an answer with a status >= 400 stands for. A body that is not
 * the API's error (a proxy's page, say) still gives an error named after
 * the status, with the start of the body.
 */
export function errorOfResponse(status: number, body: string,
    what: string): IsorunError {
  try {
    const v: unknown = JSON.parse(body);
    if (typeof v === 'object' && v !== null && 'error' in v) {
      const e = (v as { error: unknown }).error;
      if (typeof e === 'object' && e !== null) {
        const { code, message } = e as { code?: unknown, message?: unknown };
        if (typeof code === 'string' && typeof message === 'string') {
          return new IsorunError(code || codeOfStatus(status), status,
              message);
        }
      }
    }
  } catch {
    // not JSON: described below
  }
  const text = body.replace(/\s+/g, ' ').trim().slice(0, 200);
  return new IsorunError(codeOfStatus(status), status,
      `${what}: HTTP ${status}${text ? `: ${text}` : ''}`);
}
