import type { Knex } from 'knex';
import { BerthError } from '../errors';
import type { WriteFence } from '../registry/store';
import type { Leadership } from './types';

/**
 * The SQL fence. FOR KEY SHARE on the leader row with our epoch: if a newer epoch is committed the
 * row no longer matches (READ COMMITTED re-checks the newest version) and we throw; if not, the
 * lock makes the next election's epoch bump wait until this transaction ends, so every write of
 * epoch N commits before epoch N+1 begins. Call it first in the transaction, before any write.
 */
export async function assertEpoch(trx: Knex.Transaction, epoch: number): Promise<void> {
  // Outside a transaction the row lock would be released at once and fence nothing.
  if (!trx.isTransaction) throw new Error('assertEpoch needs a transaction');
  const { rows } = (await trx.raw('SELECT epoch FROM cluster_leader WHERE epoch = ? FOR KEY SHARE', [epoch])) as { rows: unknown[] };
  if (rows.length === 0) {
    const { rows: now } = (await trx.raw('SELECT epoch FROM cluster_leader')) as { rows: Array<{ epoch: number | string }> };
    throw new BerthError('NOT_LEADER', `fenced: epoch ${epoch} is no longer the leader's`, {
      epoch,
      currentEpoch: now[0] ? Number(now[0].epoch) : null,
    });
  }
}

/**
 * The registry's write fence for this replica: `assertLeader` first in the transaction, then the
 * stamp (epoch, replica id) that goes on every journal row the transaction appends. `current` is
 * the same stamp without a query, for a task-event write that is one statement and fenced in it.
 */
export function writerFence(leadership: Leadership): WriteFence {
  const fence: WriteFence = async (trx) => ({ epoch: await leadership.assertLeader(trx), writer: leadership.id });
  fence.current = () => {
    const epoch = leadership.epoch();
    return epoch === null ? null : { epoch, writer: leadership.id };
  };
  return fence;
}
