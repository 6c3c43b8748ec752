import type { Registry as PromRegistry } from 'prom-client';
import type { Leadership } from '../cluster';
import type { Config } from '../config/schema';
import type { Database } from '../db/knex';
import type { ReadinessCheck } from '../http/app';
import type { Logger } from '../log';
import { KnexSyncRunStore } from '../nginx/knex-store';
import { adminBaseUrl, httpLuaAdmin } from '../nginx/lua/client';
import { LuaPusher } from '../nginx/lua/pusher';
import { leaderProblemSink } from '../nginx/store';
import { NginxSync } from '../nginx/sync';
import type { Registry } from '../registry/registry';
import type { RegistryView } from '../registry/view';
import type { Part } from './part';

export interface NginxPartDeps {
  config: Config;
  db: Database;
  registry: Registry;
  /** What Nginx renders (see `servedView`). */
  view: RegistryView;
  leadership: Leadership;
  logger: Logger;
  metricsRegistry: PromRegistry;
  /** Awaited before a run renders (see `NginxSyncOptions.beforeRender`). */
  beforeRender?: (position: number) => Promise<void>;
}

/** How long a test or reload command may run before its process group is killed. */
const COMMAND_TIMEOUT_MS = 30_000;
/** How long one call to Nginx's admin server may take (lua mode). */
const ADMIN_TIMEOUT_MS = 2_000;

export interface NginxPart extends Part<NginxSync> {
  readonly sync: NginxSync;
  readonly runs: KnexSyncRunStore;
  /** `BERTH_NGINX_DYNAMIC=lua`: keeps Nginx's endpoint dict in step; null otherwise. */
  readonly pusher: LuaPusher | null;
}

/**
 * The Nginx batch sync. Its problems go to the registry through one sink, written by the leader
 * only; a standby keeps its latest set and publishes it when elected.
 */
export function nginxPart(d: NginxPartDeps): NginxPart {
  const logger = d.logger.child({ component: 'nginx' });
  const problems = leaderProblemSink({ registry: d.registry, isLeader: () => d.leadership.isLeader() });
  const onElected = () => void problems.publish().catch((err: Error) => logger.warn({ err: err.message }, 'publishing nginx problems failed'));
  const runs = new KnexSyncRunStore(d.db.knex);
  const { config } = d;
  const pusher =
    config.nginx.dynamic === 'lua'
      ? new LuaPusher({
          admin: httpLuaAdmin(adminBaseUrl(config.nginx.adminListen), ADMIN_TIMEOUT_MS),
          view: d.view,
          logger: logger.child({ component: 'nginx-lua' }),
          metricsRegistry: d.metricsRegistry,
        })
      : null;
  const sync = new NginxSync({
    dir: config.nginx.dir,
    templatesDir: config.nginx.templates,
    httpListen: config.nginx.httpListen,
    testCmd: config.nginx.testCmd,
    reloadCmd: config.nginx.reloadCmd,
    mainConf: config.nginx.mainConf,
    quarantineMaxMs: config.nginx.quarantineMaxMs,
    intervalMs: config.syncIntervalMs,
    commandTimeoutMs: COMMAND_TIMEOUT_MS,
    maxRemovalRatio: config.maxRemovalRatio,
    adminListen: config.nginx.adminListen,
    confirmTimeoutMs: config.nginx.confirmTimeoutMs,
    errorLog: config.nginx.errorLog,
    logger,
    metricsRegistry: d.metricsRegistry,
    view: d.view,
    store: runs,
    problems,
    dynamic: config.nginx.dynamic,
    httpsListen: config.nginx.httpsListen,
    tlsDir: config.tls.dir,
    tlsExpiryWarnDays: config.tls.expiryWarnDays,
    // A reload that adds an upstream must find its endpoints already in the dict.
    beforeApply: pusher ? () => pusher.flush() : undefined,
    beforeRender: d.beforeRender,
  });
  return {
    name: 'nginx',
    sync,
    runs,
    pusher,
    start: async () => {
      d.leadership.on('elected', onElected);
      pusher?.start();
      await sync.start();
      return sync;
    },
    stop: async () => {
      d.leadership.off('elected', onElected);
      await sync.stop();
      await pusher?.stop();
    },
    readiness: () => [nginxReadiness(sync), ...(pusher ? [pusher.readiness()] : [])],
  };
}

/**
 * Ready when the latest sync run ended applied (files tested, reloaded and, with an admin server,
 * the new generation read back from Nginx) or unchanged (disk already matched), and some run has
 * applied a loaded registry. A failed or held run makes it not ready until a later run applies; a
 * reload Nginx did not confirm is named as the problem NGINX_RELOAD_UNCONFIRMED with its likely cause.
 */
export function nginxReadiness(sync: Pick<NginxSync, 'status'>): ReadinessCheck {
  return {
    name: 'nginx',
    check: async () => {
      const s = sync.status();
      const run = s.lastRun && {
        id: s.lastRun.id ?? null,
        status: s.lastRun.status,
        position: s.lastRun.position,
        finishedAt: s.lastRun.finishedAt,
        error: s.lastRun.error,
        heldReason: s.lastRun.heldReason,
      };
      const problem = s.unconfirmed && {
        code: 'NGINX_RELOAD_UNCONFIRMED',
        generation: s.unconfirmed.generation,
        since: s.unconfirmed.since,
        message: s.unconfirmed.reason,
      };
      const detail = { appliedPosition: s.appliedPosition, generation: s.generation, lastRun: run, held: s.held, ...(problem ? { problem } : {}) };
      if (!run) return { ok: false, detail: { ...detail, reason: 'no Nginx sync run has finished yet' } };
      if (run.status === 'failed' || run.status === 'held') return { ok: false, detail: { ...detail, reason: `the latest Nginx sync run ${run.status}` } };
      if (s.appliedPosition === null) return { ok: false, detail: { ...detail, reason: 'the registry is not loaded yet: nothing was applied to Nginx' } };
      return { ok: true, detail };
    },
  };
}
