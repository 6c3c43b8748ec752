import type { JournalLag, Leadership } from './types';

/** What readiness and `/v1/cluster` say about this replica: role, epoch and how fresh its view is. */
export interface ReplicaState {
  replica: string;
  role: 'leader' | 'standby';
  epoch: number | null;
  /** Journal lag; absent when nothing follows the journal (no lag source given). */
  journal?: JournalLag;
  fresh: boolean;
}

export function replicaState(leadership: Leadership, journal?: () => JournalLag | undefined): ReplicaState {
  const lag = journal?.();
  return { replica: leadership.id, role: leadership.role(), epoch: leadership.epoch(), ...(lag ? { journal: lag } : {}), fresh: lag?.fresh ?? true };
}

/**
 * A `/readyz` check: this replica's role and epoch and, on a standby, whether its view of the
 * registry is fresh (journal lag within the bound). Both roles serve DNS and the API, so a fresh
 * standby is ready; a stale one is not, because its DNS answers may be out of date. The database
 * check (elsewhere) covers reachability.
 */
export function clusterReadiness(
  leadership: Leadership,
  journal?: () => JournalLag | undefined,
): { name: string; check(): Promise<{ ok: boolean; detail: ReplicaState }> } {
  return {
    name: 'cluster',
    check: async () => {
      const state = replicaState(leadership, journal);
      return { ok: state.fresh, detail: state };
    },
  };
}
