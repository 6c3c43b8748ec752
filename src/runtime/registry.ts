import type { Registry as PromRegistry } from 'prom-client';
import { writerFence, type Leadership } from '../cluster';
import type { Config } from '../config/schema';
import type { Database } from '../db/knex';
import type { Logger } from '../log';
import { createRegistryMetrics } from '../registry/metrics';
import { Registry } from '../registry/registry';
import { CachingHostResolver } from '../registry/resolver';
import type { RegistrySnapshot, RegistryView } from '../registry/view';
import type { Part } from './part';
import { modelPolicyOf } from '../config/model-policy';
import { loadPoolHolders } from '../ipam/holders';

export interface RegistryPartDeps {
  config: Config;
  db: Database;
  leadership: Leadership;
  logger: Logger;
  metricsRegistry: PromRegistry;
}

/** Opens the registry over the database (its mirror loaded from there). Only the leader writes it. */
export function registryPart(d: RegistryPartDeps): Part<Registry> {
  let registry: Registry | undefined;
  return {
    name: 'registry',
    start: async () => {
      registry = await Registry.open({
        knex: d.db.knex,
        logger: d.logger.child({ component: 'registry' }),
        defaultEnv: d.config.defaultEnv,
        labelPrefix: d.config.labelPrefix,
        modelPolicy: modelPolicyOf(d.config),
        // The pool-ownership rule (docs/ipam.md "Fixed IPs in managed pools"): read per plan, never cached.
        poolHolders: (ips) => loadPoolHolders(d.db.knex, ips),
        maxRemovalRatio: d.config.maxRemovalRatio,
        resolver: new CachingHostResolver(),
        metrics: createRegistryMetrics(d.metricsRegistry),
        // A deposed leader's late transaction is refused; journal rows carry the writer's epoch and id.
        fence: writerFence(d.leadership),
      });
      return registry;
    },
    stop: async () => undefined,
    // With Marathon, the registry is loaded by the first snapshot (or from the database, where a
    // leader wrote one). Without Marathon, the database's state is all there is (`servedView`).
    readiness: () =>
      d.config.marathon.urls.length
        ? [{ name: 'registry', check: async () => ({ ok: !!registry?.current().loaded, detail: { position: registry?.current().position ?? null } }) }]
        : [],
  };
}

/**
 * What DNS and Nginx serve. With Marathon it is the registry as it is; in API-only mode (no
 * BERTH_MARATHON_URLS) nothing will ever take a snapshot, so the state read from the database
 * counts as loaded: DNS answers its zones from it instead of SERVFAIL forever, and Nginx renders it.
 */
export function servedView(config: Config, registry: Registry): RegistryView {
  if (config.marathon.urls.length) return registry;
  const loaded = <T extends { loaded: boolean }>(x: T): T => ({ ...x, loaded: true });
  return {
    snapshot: async (): Promise<RegistrySnapshot> => loaded(await registry.snapshot()),
    position: () => registry.position(),
    onChange: (l) => registry.onChange(l),
    changesSince: async (position) => {
      const c = await registry.changesSince(position);
      return c && loaded(c);
    },
  };
}
