/**
 * Domain (and tcp listen-port) conflicts within one environment: the older app keeps the name, the
 * newer one is skipped with a problem. "Older" = first seen by berth (published apps are restored
 * with their original time), then Marathon's last config change, then app id, so the outcome is
 * deterministic and a published owner is never displaced by a newcomer.
 */
import type { AppRecord } from './catalog';
import { PROBLEM_CODES as C, problem } from './problems';
import type { Problem } from './types';

/** Apps that may publish, and a problem for each app that lost a claim. */
export interface ConflictResult {
  winners: Set<string>;
  problems: Problem[];
}

/** Decide ownership over every app with a spec. O(n log n) over apps; run when specs change. */
export function resolveConflicts(records: Iterable<AppRecord>): ConflictResult {
  const candidates: AppRecord[] = [];
  for (const r of records) if (r.spec) candidates.push(r);
  candidates.sort(olderFirst);
  const owners = new Map<string, string>();
  const winners = new Set<string>();
  const problems: Problem[] = [];
  for (const r of candidates) {
    const spec = r.spec!;
    const domainLosses: Array<{ domain: string; owner: string }> = [];
    for (const d of spec.domains) {
      const owner = owners.get(`d\u0000${spec.env}\u0000${d}`);
      if (owner !== undefined) domainLosses.push({ domain: d, owner });
    }
    const listenKey = spec.proxy === 'tcp' && spec.listen !== null ? `l\u0000${spec.env}\u0000${spec.listen}` : null;
    const listenOwner = listenKey ? owners.get(listenKey) : undefined;
    if (domainLosses.length > 0) {
      const first = domainLosses[0];
      problems.push(problem(C.DOMAIN_CONFLICT, r.appId, spec.env,
        `domain ${first.domain} in environment ${spec.env} belongs to the older app ${first.owner}`,
        { conflicts: domainLosses }));
    }
    if (listenOwner !== undefined) {
      problems.push(problem(C.LISTEN_CONFLICT, r.appId, spec.env,
        `tcp listen port ${spec.listen} in environment ${spec.env} belongs to the older app ${listenOwner}`,
        { listen: spec.listen, owner: listenOwner }));
    }
    if (domainLosses.length > 0 || listenOwner !== undefined) continue;
    winners.add(r.appId);
    for (const d of spec.domains) owners.set(`d\u0000${spec.env}\u0000${d}`, r.appId);
    if (listenKey) owners.set(listenKey, r.appId);
  }
  return { winners, problems };
}

function olderFirst(a: AppRecord, b: AppRecord): number {
  if (a.firstSeen !== b.firstSeen) return a.firstSeen - b.firstSeen;
  const ca = a.spec!.configChangedAt;
  const cb = b.spec!.configChangedAt;
  if (ca !== cb) return ca < cb ? -1 : 1;
  return a.appId < b.appId ? -1 : a.appId > b.appId ? 1 : 0;
}
