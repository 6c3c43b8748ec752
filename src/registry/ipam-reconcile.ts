/**
 * Hands one applied Marathon snapshot to IPAM (docs/ipam.md "Reconciliation with Marathon"): the fixed IPs apps use are
 * claimed (conflicts become problems on the app), then every pool is reconciled against the live
 * app ids. Callers guarantee the answer was fetched successfully, not held, and not empty.
 */
import type { Logger } from '../log';
import type { App } from '../marathon/types';
import { PROBLEM_CODES, problem } from '../model/problems';
import { fixedIpOf, isUsableAppId } from '../model/spec';
import { drain, type Steps } from '../model/steps';
import type { FixedIpUse, IpamReconcilePort } from './ipam-port';
import type { Registry } from './registry';

/**
 * What reconciliation reads of a snapshot: the fixed IPs in use and the live app ids. Taken before
 * the snapshot is applied, so the app list (tens of MB at 10,000 apps) can be released while IPAM
 * runs, which overlaps with the DNS index and Nginx files being built from the new state.
 */
export interface IpamInput {
  uses: FixedIpUse[];
  live: string[];
}

export function ipamInputOf(apps: readonly App[], labelPrefix?: string): IpamInput {
  return drain(ipamInputSteps(apps, labelPrefix));
}

/** `ipamInputOf` as steps, one per app (model/steps.ts), for a caller that runs it in slices. */
export function* ipamInputSteps(apps: readonly App[], labelPrefix?: string): Steps<IpamInput> {
  const uses: FixedIpUse[] = [];
  for (const app of apps) {
    if (!app || typeof app !== 'object') continue;
    const ip = fixedIpOf(app, labelPrefix);
    const tasks: unknown[] = Array.isArray(app.tasks) ? app.tasks : [];
    if (ip) uses.push({ appId: app.id, ip, running: tasks.some((t) => (t as { state?: unknown } | null)?.state === 'TASK_RUNNING') });
    yield;
  }
  // An id the rules refuse (NUL, lone surrogate, bad grammar) can own no allocation (IPAM stores
  // only ids that pass the same rule), and PostgreSQL refuses some of them outright, which would
  // stop reconciliation for every app: they are left out of the live list.
  const live = apps.map((a) => a?.id).filter(isUsableAppId);
  return { uses, live };
}

/** Claim and reconcile; failures are logged, never thrown (IPAM must not stop the registry). */
export async function reconcileIpam(
  ipam: IpamReconcilePort,
  registry: Pick<Registry, 'setProblems'>,
  { uses, live }: IpamInput,
  snapshotAt: Date,
  log: Logger,
): Promise<void> {
  try {
    const outcomes = await ipam.claim(uses, snapshotAt);
    const conflicts = outcomes
      .filter((o) => o.result === 'conflict')
      .map((o) =>
        problem(
          PROBLEM_CODES.FIXED_IP_CONFLICT,
          o.appId,
          null,
          o.message ?? `fixed IP ${o.ip} is allocated to ${o.owner ?? 'another app'} in pool ${o.pool ?? '?'}`,
          { ip: o.ip, pool: o.pool, owner: o.owner },
        ),
      );
    await registry.setProblems('ipam', conflicts);
    for (const pool of await ipam.pools()) {
      const r = await ipam.reconcile(pool, live, snapshotAt);
      if (r.marked + r.cleared + r.released > 0) log.info({ pool, ...r }, 'ipam reconciled with marathon');
    }
  } catch (err) {
    log.error({ err: (err as Error).message }, 'ipam reconciliation failed');
  }
}
