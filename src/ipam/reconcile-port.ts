/** IPAM's side of the registry's `IpamReconcilePort`: claims and safe reconciliation over IpamService. */
import { isBerthError } from '../errors';
import type { ClaimOutcome, FixedIpUse, IpamReconcilePort, ReconcileOutcome } from '../registry/ipam-port';
import type { IpamService } from './service';
import type { ReconcileOptions } from './types';

/** Adapts IpamService to the port the Marathon sync calls after every applied snapshot. */
export class IpamReconciler implements IpamReconcilePort {
  constructor(
    private readonly ipam: IpamService,
    private readonly opts: ReconcileOptions = {},
  ) {}

  async pools(): Promise<string[]> {
    return (await this.ipam.listPools()).map((p) => p.name);
  }

  async claim(uses: FixedIpUse[], _snapshotAt: Date): Promise<ClaimOutcome[]> {
    const out: ClaimOutcome[] = [];
    for (const use of uses) out.push(await this.claimOne(use));
    return out;
  }

  async reconcile(pool: string, liveAppIds: string[], snapshotAt: Date): Promise<ReconcileOutcome> {
    const r = await this.ipam.reconcile(pool, liveAppIds, snapshotAt, this.opts);
    return { marked: r.marked, cleared: r.cleared, released: r.released };
  }

  private async claimOne(use: FixedIpUse): Promise<ClaimOutcome> {
    const base = { appId: use.appId, ip: use.ip };
    let pool: string | null;
    try {
      pool = await this.ipam.poolForAddress(use.ip);
    } catch (err) {
      if (isBerthError(err)) return { ...base, result: 'conflict', message: err.message };
      throw err;
    }
    if (!pool) return { ...base, result: 'outside' };
    const r = await this.ipam.claim(pool, use.appId, use.ip);
    if (r.status === 'conflict') return { ...base, pool, result: 'conflict', message: `${r.code}: ${r.message}`, ...(r.owner ? { owner: r.owner } : {}) };
    return { ...base, pool, result: r.status === 'claimed' ? 'claimed' : 'existing' };
  }
}
