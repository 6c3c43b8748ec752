/**
 * The collaborators one Nginx sync is made of, wired once from its options: how Nginx is tested
 * and reloaded (with the reload confirmed when an admin server is configured), where changes are
 * staged, what berth knows of the disk, certificates, quarantine, problems and metrics. Apart from
 * the scheduler (sync.ts) and the run (sync-run.ts) so both see the same parts and neither builds them.
 */
import type { Clock } from '../clock';
import { commandControl, testsCandidate, type NginxControl } from './command';
import { GenerationConfirmer } from './confirm';
import { DiskState } from './disk-state';
import { Exclusions } from './exclusions';
import { HttpContext } from './http-context';
import { luaHttpExtras } from './lua/extras';
import { createNginxMetrics, type NginxMetrics } from './metrics';
import { TcpPortCheck } from './port-check';
import { ProblemTracker } from './problem-tracker';
import { RunRecorder } from './run-recorder';
import { Staging } from './staging';
import { DEFAULT_QUARANTINE_MAX_MS, type NginxSyncOptions } from './sync-options';
import { TlsCatalog } from './tls-catalog';
import { parseListen } from './validate';

export interface SyncParts {
  control: NginxControl;
  metrics: NginxMetrics;
  problems: ProblemTracker;
  tls: TlsCatalog;
  disk: DiskState;
  recorder: RunRecorder;
  excluded: Exclusions;
  /** Null when the test command does not look at the candidate: changes are then tested in the live folder. */
  staging: Staging | null;
  httpContext: HttpContext;
  confirmer: GenerationConfirmer | null;
  ports: TcpPortCheck;
}

export function createSyncParts(opts: NginxSyncOptions, clock: Clock): SyncParts {
  const control = opts.control ?? commandControl({ testCmd: opts.testCmd, reloadCmd: opts.reloadCmd, timeoutMs: opts.commandTimeoutMs });
  const adminListen = opts.adminListen?.trim() ?? '';
  // lua mode: the balancer's shared dicts, init and admin locations travel in http.conf, next to
  // /berth/generation, so an operator includes one file whatever the mode.
  const httpContext = new HttpContext(opts.dir, adminListen, opts.dynamic === 'lua' ? luaHttpExtras() : undefined);
  // No confirmation without an admin server, nor when nothing reloads Nginx (render only).
  const confirmer =
    adminListen !== '' && opts.reloadCmd.trim() !== ''
      ? new GenerationConfirmer({ adminListen, timeoutMs: opts.confirmTimeoutMs ?? 5000, errorLog: opts.errorLog })
      : null;
  const ports = new TcpPortCheck(listenHost(opts.httpListen), opts.portInUse);
  const metrics = createNginxMetrics(opts.metricsRegistry, () => clock.now());
  return {
    httpContext,
    confirmer,
    ports,
    // The confirmation holds a connection to the running generation across the reload (confirm.ts).
    control: {
      test: (target) => control.test(target),
      reload: async () => {
        await confirmer?.arm();
        confirmer?.reloading();
        return control.reload();
      },
    },
    metrics,
    problems: new ProblemTracker(opts.problems, opts.logger),
    tls: new TlsCatalog(opts.tlsDir ?? '', opts.tlsExpiryWarnDays ?? 14, opts.metricsRegistry),
    disk: new DiskState(opts.dir, clock),
    excluded: new Exclusions(opts.intervalMs, opts.quarantineMaxMs ?? DEFAULT_QUARANTINE_MAX_MS),
    staging: testsCandidate(opts.testCmd, opts.mainConf) ? new Staging(opts.dir) : null,
    recorder: new RunRecorder(opts.store, metrics, opts.logger),
  };
}

/** The address TCP services listen on (that of `httpListen`), null for all; an invalid value fails each run's render instead. */
function listenHost(httpListen: string): string | null {
  try {
    return parseListen(httpListen).host?.replace(/^\[|\]$/g, '') ?? null;
  } catch {
    return null;
  }
}
