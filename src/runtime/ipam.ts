import type { Registry as PromRegistry } from 'prom-client';
import type { Leadership } from '../cluster';
import type { Config } from '../config/schema';
import type { Database } from '../db/knex';
import { startAuditRetention } from '../ipam';
import type { Logger } from '../log';
import type { Part } from './part';

export interface AuditRetentionPartDeps {
  config: Config;
  logger: Logger;
  metricsRegistry: PromRegistry;
  db: Database;
  leadership: Leadership;
}

/** The IPAM audit trail's retention (BERTH_AUDIT_RETENTION_DAYS / BERTH_AUDIT_MAX_ROWS), pruned by the leader only. */
export function auditRetentionPart(d: AuditRetentionPartDeps): Part {
  let stop: (() => Promise<void>) | undefined;
  return {
    name: 'audit-retention',
    start: async () => {
      const retention = d.config.auditRetention;
      stop = startAuditRetention({
        knex: d.db.knex,
        leadership: d.leadership,
        logger: d.logger,
        metricsRegistry: d.metricsRegistry,
        retention,
        intervalMs: retention.intervalMs,
      });
    },
    stop: async () => {
      await stop?.();
    },
  };
}
