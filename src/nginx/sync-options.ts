/**
 * The Nginx sync's plain options: main.ts maps config onto them, tests fill them in. In a module of
 * their own because the scheduler (sync.ts), the parts it is made of (sync-parts.ts) and the run
 * (sync-run.ts) all read them.
 */
import type { Registry } from 'prom-client';
import type { Clock } from '../clock';
import type { Logger } from '../log';
import type { RegistryView } from '../registry/view';
import type { NginxControl } from './command';
import type { ProblemSink, SyncRunStore } from './store';
import type { DynamicMode } from './template-context';

/** Default cap of the gap between retries of a quarantined service (BERTH_NGINX_QUARANTINE_MAX_MS). */
export const DEFAULT_QUARANTINE_MAX_MS = 600_000;

/** Plain options; `main.ts` maps config onto them. */
export interface NginxSyncOptions {
  dir: string;
  templatesDir: string;
  httpListen: string;
  testCmd: string;
  reloadCmd: string;
  /**
   * The operator's main nginx.conf (BERTH_NGINX_MAIN_CONF): when set, each test gets a candidate
   * copy whose includes of `dir` point at the staging tree (BERTH_NGINX_CANDIDATE_CONF).
   */
  mainConf?: string | null;
  /** Cap of the doubling gap between retries of a quarantined service. */
  quarantineMaxMs?: number;
  intervalMs: number;
  commandTimeoutMs: number;
  maxRemovalRatio: number;
  logger: Logger;
  metricsRegistry: Registry;
  view: RegistryView;
  store: SyncRunStore;
  problems: ProblemSink;
  clock?: Clock;
  /** Replaces the test/reload commands (tests); defaults to running `testCmd`/`reloadCmd`. */
  control?: NginxControl;
  /** Loopback `ip:port` of the admin server in http.conf; empty or absent: none, reloads are not confirmed. */
  adminListen?: string;
  /** How long Nginx has to answer the new generation after a reload (default 5 s). */
  confirmTimeoutMs?: number;
  /** Nginx's error log, quoted when a reload is not confirmed. */
  errorLog?: string;
  /** Replaces the "is this TCP port taken" check (tests). */
  portInUse?: (host: string | null, port: number) => Promise<boolean>;
  /** `lua`: HTTP files carry no endpoints and http.conf carries the Lua balancer (BERTH_NGINX_DYNAMIC); default `off`. */
  dynamic?: DynamicMode;
  /**
   * Awaited before changed files are staged, tested and reloaded (lua mode: push the endpoints
   * first, so an upstream a reload introduces serves at once). A rejection is logged and the run goes on.
   */
  beforeApply?: () => Promise<void>;
  /**
   * Awaited before a run renders a loaded registry at `position`; it must resolve (a bounded wait).
   * berth passes "DNS serves this position": the render and the DNS build share the event loop, and
   * at start the render's slices made the first DNS build take 1.45 s instead of 0.9 s (10,000 apps).
   */
  beforeRender?: (position: number) => Promise<void>;
  /** BERTH_TLS_DIR: certificate pairs for `berth.tls` services; empty: TLS unavailable (default). */
  tlsDir?: string;
  /** BERTH_NGINX_HTTPS_LISTEN (default `443`). */
  httpsListen?: string;
  /** BERTH_TLS_EXPIRY_WARN_DAYS (default 14). */
  tlsExpiryWarnDays?: number;
}
