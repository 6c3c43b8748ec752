/**
 * Bulk state for benchmarks: thousands of running apps created directly (no events, no
 * deployments), and a pump emitting task events at a fixed rate.
 */
import { type SimApp, type SimTask, isoNow } from './model';
import { normalizeApp } from './normalize';
import type { SimCluster } from './state';
import { hasHealthChecks, newTask, setHealth, setTaskState } from './tasks';

type Json = Record<string, unknown>;

export interface SeedOptions {
  apps: number;
  tasksPerApp: number;
  /** App definition for app `i` (without instances); default: a docker bridge app with one port. */
  template?: (i: number) => Json;
}

/** Default bench app: bridge networking, one HTTP port, berth labels. */
export function defaultSeedApp(i: number): Json {
  return {
    id: `/bench/app-${i}`,
    container: { type: 'DOCKER', docker: { image: 'nginx:alpine' }, portMappings: [{ containerPort: 80, hostPort: 0, name: 'http' }] },
    networks: [{ mode: 'container/bridge' }],
    labels: { 'berth.domain': `app-${i}.bench.berth.internal` },
  };
}

/** Creates `apps` apps with `tasksPerApp` RUNNING tasks each, silently. Returns the totals. */
export function seed(c: SimCluster, opts: SeedOptions): { apps: number; tasks: number } {
  const template = opts.template ?? defaultSeedApp;
  const version = isoNow();
  let tasks = 0;
  for (let i = 0; i < opts.apps; i++) {
    const def = normalizeApp({ ...template(i), instances: opts.tasksPerApp }, version, c.servicePorts);
    const app: SimApp = { def, tasks: new Map(), deployments: new Set(), versionInfo: { lastScalingAt: version, lastConfigChangeAt: version } };
    for (let k = 0; k < opts.tasksPerApp; k++) {
      const t = newTask(c, app, k);
      t.state = 'TASK_RUNNING';
      t.startedAt = version;
      if (((def.healthChecks as unknown[]) ?? []).length) {
        t.health = { alive: true, consecutiveFailures: 0, firstSuccess: version, lastSuccess: version, lastFailure: null, lastFailureCause: null };
      }
      app.tasks.set(t.id, t);
      tasks++;
    }
    c.apps.set(def.id, app);
  }
  return { apps: opts.apps, tasks };
}

export interface PumpOptions {
  ratePerSec: number;
  /** Stop after this many events (default: until stop()). */
  count?: number;
  /**
   * What one emission does. Default 'state-flap': the next running task goes TASK_RUNNING →
   * TASK_KILLING, or back (a visible change for a consumer at every event). 'health-flap' flips
   * the task's health result instead. 'replace': the next task is killed (TASK_KILLED, it leaves
   * its app) and a new task of the same app starts in its place (TASK_STAGING, TASK_RUNNING), on
   * the next agent with a fresh host port, as Marathon relaunches a lost task: a consumer must drop
   * one endpoint and add one it has never seen, not only flip a known one.
   */
  kind?: PumpKind;
  /**
   * Called right after each emission, with the task and a monotonic timestamp (ms). For 'replace',
   * `task` is the new task and `replaced` the one killed.
   */
  onEmit?: (task: SimTask, atMs: number, replaced?: SimTask) => void;
}

export type PumpKind = 'state-flap' | 'health-flap' | 'replace';

/** Kills `task` and starts a new task of its app in its place (see PumpOptions.kind); returns the new task. */
export function replaceTask(c: SimCluster, app: SimApp, task: SimTask): SimTask {
  setTaskState(c, app, task, 'TASK_KILLED', 'Container exited with status 137');
  const next = newTask(c, app, app.tasks.size);
  app.tasks.set(next.id, next);
  setTaskState(c, app, next, 'TASK_STAGING');
  setTaskState(c, app, next, 'TASK_RUNNING');
  if (hasHealthChecks(app.def)) setHealth(c, app, next, true);
  return next;
}

/** Emits task changes at a steady rate; resolves `done` after `count` emissions or stop(). */
export function pump(c: SimCluster, opts: PumpOptions): { stop: () => void; done: Promise<number> } {
  let sent = 0;
  let cursor = 0;
  let stopped = false;
  const started = performance.now();
  let finish: (n: number) => void = () => undefined;
  const done = new Promise<number>((r) => {
    finish = r;
  });
  // Snapshot of the task list, refreshed once per round (30,000 tasks: not rebuilt per event).
  let tasks: SimTask[] = [];
  const emitOne = (): boolean => {
    if (cursor >= tasks.length) {
      tasks = c.allTasks();
      cursor = 0;
      if (tasks.length === 0) return false;
    }
    const task = tasks[cursor++];
    const app = c.apps.get(task.appId);
    if (!app || !app.tasks.has(task.id)) return true; // gone since the snapshot: skip it
    let replaced: SimTask | undefined;
    let emitted = task;
    if (opts.kind === 'replace') {
      replaced = task;
      emitted = replaceTask(c, app, task);
    } else if (opts.kind === 'health-flap') setHealth(c, app, task, !(task.health?.alive ?? false));
    else setTaskState(c, app, task, task.state === 'TASK_RUNNING' ? 'TASK_KILLING' : 'TASK_RUNNING');
    sent++;
    opts.onEmit?.(emitted, performance.now(), replaced);
    return true;
  };
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - started) / 1000) * opts.ratePerSec);
    while (!stopped && sent < due && (opts.count === undefined || sent < opts.count)) if (!emitOne()) break;
    if (opts.count !== undefined && sent >= opts.count) stop();
  }, 5);
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    finish(sent);
  };
  return { stop, done };
}
