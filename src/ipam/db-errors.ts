/** Maps SQLSTATEs raised by migrations/001_ipam.ts (and constraint violations) to BerthError. */
import { BerthError, type ErrorCode } from '../errors';

interface PgError {
  code?: string;
  message?: string;
  detail?: string;
  constraint?: string;
}

const BY_STATE: Record<string, ErrorCode> = {
  BP404: 'POOL_NOT_FOUND',
  BA409: 'APP_HAS_ALLOCATION',
  BA410: 'ADDRESS_TAKEN',
  BA411: 'ADDRESS_RESERVED',
  BA412: 'ADDRESS_QUARANTINED',
  BA413: 'INVALID_IP',
  BA419: 'STALE_ALLOCATION',
  BA507: 'POOL_EXHAUSTED',
};

/** The database's own message without the SQL text knex prefixes it with. */
function cleanMessage(e: PgError): string {
  const m = e.message ?? 'database error';
  const i = m.lastIndexOf(' - ');
  return i >= 0 ? m.slice(i + 3) : m;
}

/** A BerthError for IPAM's own SQLSTATEs; other errors are returned unchanged. */
export function mapDbError(err: unknown, context: Record<string, unknown> = {}): unknown {
  const e = err as PgError;
  const code = e?.code ? BY_STATE[e.code] : undefined;
  if (!code) return err;
  const details: Record<string, unknown> = { ...context };
  if (e.detail) {
    const key = { BA409: 'heldIp', BA410: 'heldBy', BA411: 'reason', BA412: 'availableAt', BA419: 'currentAllocationId' }[e.code as string];
    if (key) details[key] = e.code === 'BA419' ? Number(e.detail) : e.detail;
  }
  return new BerthError(code, cleanMessage(e), details);
}

/** True for a violation of the named constraint (or any unique violation when none is named). */
export function isViolation(err: unknown, sqlstate: '23505' | '23P01', constraint?: string): boolean {
  const e = err as PgError;
  return e?.code === sqlstate && (constraint === undefined || e.constraint === constraint || (e.message ?? '').includes(constraint));
}
