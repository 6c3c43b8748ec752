import { silentLogger } from '../../src/log';
import { KnexIpamStore } from '../../src/ipam/knex-store';
import { IpamService, type IpamServiceOptions } from '../../src/ipam/service';
import type { TestDb } from '../support/db';

/** An IpamService over the test database. */
export function serviceFor(db: TestDb, extra: Partial<IpamServiceOptions> = {}): IpamService {
  return new IpamService({ store: new KnexIpamStore(db.knex), logger: silentLogger, ...extra });
}

/** Pool names must differ per test inside one suite (one database per suite); CIDRs must not overlap. */
let counter = 0;
export function uniquePool(prefix = 'p'): { name: string; octet: number } {
  counter += 1;
  return { name: `${prefix}${counter}`, octet: counter };
}

/** Resolves to the error a promise rejects with (fails the test when it resolves). */
export async function rejection(p: Promise<unknown>): Promise<{ code?: string; message: string; details?: Record<string, unknown> }> {
  try {
    await p;
  } catch (e) {
    return e as { code?: string; message: string };
  }
  throw new Error('expected a rejection');
}

/**
 * A Marathon snapshot time after every allocation made so far. Only allocations older than the
 * snapshot may be marked orphaned; the database stamps them in microseconds, `new Date()` counts
 * whole milliseconds, so a snapshot taken right after an allocation could fall in its millisecond,
 * before it, and (rightly) mark nothing.
 */
export function snapshotNow(): Date {
  return new Date(Date.now() + 1);
}
