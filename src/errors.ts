/**
 * Stable error codes (contract): API clients and scripts match on `code`, never on `message`.
 * Each code has one HTTP status.
 */
export const ERROR_CODES = {
  BAD_REQUEST: 400,
  INVALID_CIDR: 400,
  POOL_CIDR_RESERVED: 400,
  POOL_CIDR_TOO_WIDE: 400,
  INVALID_IP: 400,
  INVALID_APP_ID: 400,
  INVALID_APP_DEFINITION: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  ORIGIN_NOT_ALLOWED: 403,
  HOST_NOT_ALLOWED: 403,
  NOT_FOUND: 404,
  POOL_NOT_FOUND: 404,
  ALLOCATION_NOT_FOUND: 404,
  SERVICE_NOT_FOUND: 404,
  POOL_EXISTS: 409,
  POOL_OVERLAP: 409,
  POOL_IN_USE: 409,
  ADDRESS_CONFLICT: 409,
  ADDRESS_RESERVED: 409,
  ADDRESS_QUARANTINED: 409,
  ADDRESS_TAKEN: 409,
  POOL_EXHAUSTED: 409,
  STALE_ALLOCATION: 409,
  APP_HAS_ALLOCATION: 409,
  NOT_LEADER: 409,
  METHOD_NOT_ALLOWED: 405,
  PRECONDITION_FAILED: 412,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  DATABASE_UNAVAILABLE: 503,
  NOT_READY: 503,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An error with a stable code; the HTTP layer renders it as `{code, message, details}`. */
export class BerthError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'BerthError';
    this.status = ERROR_CODES[code];
  }
}

export function isBerthError(e: unknown): e is BerthError {
  return e instanceof BerthError;
}
