/** Shared JSON Schemas for the API. */
export const errorSchema = {
  $id: 'Error',
  type: 'object',
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

/** `{ $ref: 'Error#' }` responses for the usual error statuses. */
export function errorResponses(...statuses: number[]): Record<number, unknown> {
  const out: Record<number, unknown> = {};
  for (const s of statuses) out[s] = { $ref: 'Error#' };
  return out;
}
