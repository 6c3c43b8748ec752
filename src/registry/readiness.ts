/** `/readyz` checks for the registry side (shape of `ReadinessCheck` in src/http/app.ts). */
import type { ReadinessCheck } from '../http/app';
import type { Registry } from './registry';
import type { MarathonSync } from './sync';

/** Ready once a Marathon snapshot was fetched and applied (or found unchanged); held/failed ones do not count. */
export function marathonSnapshotReadiness(sync: Pick<MarathonSync, 'hasSynced' | 'status'>): ReadinessCheck {
  return {
    name: 'marathon_snapshot',
    check: async () => ({ ok: sync.hasSynced(), detail: sync.status() }),
  };
}

/** Ready once the registry holds a catalog (from the database or Marathon), so DNS and Nginx have something true to serve. */
export function registryLoadedReadiness(registry: Pick<Registry, 'status'>): ReadinessCheck {
  return {
    name: 'registry_loaded',
    check: async () => {
      const s = registry.status();
      return { ok: s.loaded, detail: { position: s.position, services: s.services, held: s.held?.reason ?? null } };
    },
  };
}
