/** IPAM composition: what src/main.ts needs to build the service, its metrics and the registry port. */
import type { Knex } from 'knex';
import type { Registry } from 'prom-client';
import type { Logger } from '../log';
import { KnexIpamStore } from './knex-store';
import { createIpamMetrics } from './metrics';
import { IpamReconciler } from './reconcile-port';
import { IpamService } from './service';
import type { ReconcileOptions } from './types';

export interface IpamOptions {
  knex: Knex;
  logger: Logger;
  metricsRegistry: Registry;
  /** BERTH_LABEL_PREFIX. */
  labelPrefix?: string;
  /** Pool for `berth.ip=auto` when several exist. */
  defaultPool?: string;
  reconcile?: ReconcileOptions;
}

/** Builds the IPAM service (for routes and CLI-facing API) and the reconciler port (for MarathonSync). */
export function createIpam(opts: IpamOptions): { service: IpamService; reconciler: IpamReconciler } {
  const store = new KnexIpamStore(opts.knex);
  const metrics = createIpamMetrics(opts.metricsRegistry, { usage: () => store.usage() });
  const service = new IpamService({ store, logger: opts.logger, metrics, labelPrefix: opts.labelPrefix, defaultPool: opts.defaultPool });
  return { service, reconciler: new IpamReconciler(service, opts.reconcile) };
}

export { IpamService } from './service';
export { IpamReconciler } from './reconcile-port';
export { startAuditRetention, pruneAudit, type AuditRetention } from './retention';
export type * from './types';
