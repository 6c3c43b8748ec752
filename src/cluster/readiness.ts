import type { Leadership } from './types';

/**
 * A `/readyz` check that reports this replica's role and epoch. Both roles are ready: a standby
 * serves DNS and the API; the database check (elsewhere) covers reachability.
 */
export function clusterReadiness(leadership: Leadership): { name: string; check(): Promise<{ ok: boolean; detail: Record<string, unknown> }> } {
  return {
    name: 'cluster',
    check: async () => ({ ok: true, detail: { replica: leadership.id, role: leadership.role(), epoch: leadership.epoch() } }),
  };
}
