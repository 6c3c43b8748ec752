/** Shared JSON Schemas for the API. */
export const ERROR_SCHEMA_ID = 'Error';

/** The one error body of every API answer with status 4xx or 5xx. */
export const errorSchema = {
  $id: ERROR_SCHEMA_ID,
  type: 'object',
  description: 'every error answer: a stable code to match on, a message for people, details depending on the code',
  required: ['code', 'message'],
  properties: {
    code: { type: 'string', description: 'stable error code (see README)' },
    message: { type: 'string' },
    details: { type: 'object', additionalProperties: true },
  },
} as const;

/**
 * Upper bound for id-like integers in query strings: a larger one (`?before=1e30`) passes
 * `type: integer` but the database refuses it as a bigint, which answered 500 instead of 400.
 */
export const MAX_ID = Number.MAX_SAFE_INTEGER;

/** What each error status means in this API; the body is always the shared Error schema. */
const ERROR_STATUS: Record<number, string> = {
  400: 'invalid request: path, query or body does not match the schema (code BAD_REQUEST or a more specific one)',
  401: 'UNAUTHORIZED: BERTH_API_TOKENS is set and no valid bearer token was sent',
  403: 'FORBIDDEN (write from a non-loopback address without tokens configured), ORIGIN_NOT_ALLOWED or HOST_NOT_ALLOWED',
  404: 'the named resource does not exist (POOL_NOT_FOUND, ALLOCATION_NOT_FOUND, SERVICE_NOT_FOUND…)',
  409: 'conflict with the current state (see the code)',
  412: 'If-Match does not name the current version of the resource (PRECONDITION_FAILED)',
  413: 'PAYLOAD_TOO_LARGE: request body over 1 MiB',
  415: 'UNSUPPORTED_MEDIA_TYPE: a request body that is not application/json',
  500: 'INTERNAL: unexpected error (logged)',
  503: 'DATABASE_UNAVAILABLE or NOT_READY: retry later',
};

const wwwAuthenticate = {
  'WWW-Authenticate': { type: 'string', description: 'Bearer realm="berth" (with error="invalid_token" when a token was sent), RFC 6750' },
};

/** A response entry with the shared error body; 401 also names its WWW-Authenticate header. */
export function errorResponse(status: number): Record<string, unknown> {
  return { description: ERROR_STATUS[status] ?? 'error', ...(status === 401 ? { headers: wwwAuthenticate } : {}), $ref: `${ERROR_SCHEMA_ID}#` };
}

/** Error responses (shared body, described status) for the given statuses. */
export function errorResponses(...statuses: number[]): Record<number, unknown> {
  const out: Record<number, unknown> = {};
  for (const s of statuses) out[s] = errorResponse(s);
  return out;
}

/** Response header entries (documentation: fastify serialises bodies, the handlers set headers). */
export const etagHeader = { ETag: { type: 'string', description: 'version of this representation, for If-None-Match and If-Match' } } as const;
export const locationHeader = { Location: { type: 'string', description: 'URL of the created resource' } } as const;
export const notModifiedResponse = { type: 'null', description: 'Not Modified: If-None-Match names the current ETag' } as const;

/** Request header schemas of conditional requests. */
export const ifNoneMatchHeader = {
  type: 'object',
  properties: { 'if-none-match': { type: 'string', maxLength: 1024, description: 'ETag(s) the client holds: 304 while one is current' } },
} as const;
export const ifMatchHeader = {
  type: 'object',
  properties: { 'if-match': { type: 'string', maxLength: 1024, description: 'ETag the change is based on (or *): 412 unless it is current' } },
} as const;
