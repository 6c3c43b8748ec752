/**
 * Deployments: create, update/scale, restart and delete an app, each driven step by step through
 * the cluster's pacer and emitting Marathon's event sequence (docs/marathon.md "Events and what berth does with them"):
 * api_post_event, group_change_success, deployment_info / deployment_step_success per step, task
 * status and health events, app_terminated_event, deployment_success.
 */
import * as ev from './events';
import { type AppDefinition, type SimApp, type SimTask, canonicalAppId, isoNow, newUuid } from './model';
import { normalizeApp } from './normalize';
import type { PlaceTask, RunningDeployment, SimCluster } from './state';
import { once } from 'node:events';
import { hasHealthChecks, hasReadinessChecks, newTask, setHealth, setReady, setTaskState } from './tasks';

type Json = Record<string, unknown>;

export interface DeployOptions {
  /** For api_post_event. */
  clientIp?: string;
  uri?: string;
  /** Per-deployment task placement (overrides the cluster's). */
  placeTask?: PlaceTask;
  /** Whether new tasks of health-checked apps pass their first check (default: cluster's autoHealthy). */
  healthy?: boolean;
  /**
   * Whether new tasks of apps with readiness checks pass them by themselves (default true). False:
   * they stay `ready: false` and the deployment waits (as Marathon does) until `control.setReady`.
   */
  ready?: boolean;
}

interface Ctx {
  c: SimCluster;
  d: RunningDeployment;
  plan: ev.Plan;
  opts: DeployOptions;
}

const allDefs = (c: SimCluster): AppDefinition[] => [...c.apps.values()].map((a) => a.def);

/** Awaits the next pacer tick; false if the deployment was cancelled meanwhile. */
async function tick(x: Ctx): Promise<boolean> {
  await x.c.pacer.next();
  return !x.d.cancelled;
}

async function launch(x: Ctx, app: SimApp, indexes: number[]): Promise<SimTask[]> {
  const tasks = indexes.map((i) => newTask(x.c, app, i, x.opts.placeTask));
  for (const t of tasks) {
    app.tasks.set(t.id, t);
    setTaskState(x.c, app, t, 'TASK_STAGING');
  }
  for (const state of ['TASK_STARTING', 'TASK_RUNNING'] as const) {
    if (!(await tick(x))) return tasks;
    for (const t of tasks) if (app.tasks.has(t.id)) setTaskState(x.c, app, t, state);
  }
  if (hasHealthChecks(app.def) && (x.opts.healthy ?? x.c.autoHealthy)) {
    if (!(await tick(x))) return tasks;
    for (const t of tasks) if (app.tasks.has(t.id)) setHealth(x.c, app, t, true);
  }
  if (hasReadinessChecks(app.def)) await awaitReadiness(x, app, tasks);
  return tasks;
}

/** Marathon runs readiness checks on the tasks a deployment launched and goes on once all are ready. */
async function awaitReadiness(x: Ctx, app: SimApp, tasks: SimTask[]): Promise<void> {
  for (const t of tasks) if (app.tasks.has(t.id)) t.ready = false;
  if (x.opts.ready ?? true) {
    if (!(await tick(x))) return;
    for (const t of tasks) if (app.tasks.has(t.id)) setReady(x.c, t, true);
  }
  while (!x.d.cancelled && tasks.some((t) => app.tasks.has(t.id) && t.ready !== true)) await once(x.c, 'readiness');
}

async function kill(x: Ctx, app: SimApp, tasks: SimTask[]): Promise<void> {
  for (const t of tasks) setTaskState(x.c, app, t, 'TASK_KILLING');
  if (!(await tick(x))) return;
  for (const t of tasks) setTaskState(x.c, app, t, 'TASK_KILLED', 'Container exited with status 137');
}

/** Starts a deployment touching `apps`; `body` runs the steps. Resolves `done` at deployment_success. */
function startDeployment(
  c: SimCluster,
  apps: SimApp[],
  steps: ev.Step[],
  original: AppDefinition[],
  opts: DeployOptions,
  body: (x: Ctx) => Promise<void>,
): RunningDeployment {
  const version = apps[0]?.def.version ?? isoNow();
  const d: RunningDeployment = { id: newUuid(), version, appIds: apps.map((a) => a.def.id), cancelled: false, done: Promise.resolve() };
  const plan: ev.Plan = { id: d.id, steps, version, original, target: allDefs(c) };
  const x: Ctx = { c, d, plan, opts };
  for (const a of apps) a.deployments.add(d.id);
  c.deployments.set(d.id, d);
  d.done = (async () => {
    try {
      for (const step of steps) {
        if (!(await tick(x))) return;
        c.publish(ev.deploymentInfo('deployment_info', plan, step, c.flavour));
        await body(x);
        if (x.d.cancelled) return;
        c.publish(ev.deploymentInfo('deployment_step_success', plan, step, c.flavour));
      }
      c.publish(ev.deploymentSuccess(plan, c.flavour));
    } finally {
      if (d.cancelled) c.publish(ev.deploymentFailed(plan, c.flavour, 'The deployment has been cancelled'));
      for (const a of apps) a.deployments.delete(d.id);
      c.deployments.delete(d.id);
      // Readiness results live only as long as the deployment that ran the checks.
      for (const a of apps) if (a.deployments.size === 0) for (const t of a.tasks.values()) t.ready = null;
    }
  })();
  return d;
}

const step = (action: ev.ActionName, app: string): ev.Step => ({ actions: [{ action, app }] });

/** Cancels deployments touching `appId` (Marathon's `force=true`). */
export function cancelDeployments(c: SimCluster, appId: string): void {
  for (const d of c.deployments.values()) if (d.appIds.includes(appId)) d.cancelled = true;
  // A deployment waiting for readiness wakes up to see it was cancelled.
  c.emit('readiness');
}

/** Creates an app (input validated by the caller) and deploys its instances. */
export function createApp(c: SimCluster, input: Json, opts: DeployOptions = {}): { app: SimApp; deployment: RunningDeployment } {
  const original = allDefs(c);
  const version = isoNow();
  const def = normalizeApp(input, version, c.servicePorts);
  const app: SimApp = { def, tasks: new Map(), deployments: new Set(), versionInfo: { lastScalingAt: version, lastConfigChangeAt: version } };
  c.apps.set(def.id, app);
  c.publish(ev.apiPostEvent(opts.clientIp ?? '127.0.0.1', opts.uri ?? '/v2/apps', def, c.flavour));
  c.publish(ev.groupChangeSuccess(version));
  const steps = [step('StartApplication', def.id), step('ScaleApplication', def.id)];
  let stepNo = 0;
  const deployment = startDeployment(c, [app], steps, original, opts, async (x) => {
    if (stepNo++ === 0) {
      if (hasHealthChecks(def)) c.publish(ev.addHealthCheckEvent(def, c.flavour));
      return;
    }
    await launch(x, app, [...Array(def.instances).keys()]);
  });
  return { app, deployment };
}

/** Applies a change (PUT): instances only → ScaleApplication; anything else → RestartApplication. */
export function updateApp(c: SimCluster, id: string, input: Json, opts: DeployOptions = {}): RunningDeployment {
  const app = c.apps.get(canonicalAppId(id));
  if (!app) throw new Error(`App '${id}' does not exist`);
  const original = allDefs(c);
  const version = isoNow();
  const before = JSON.stringify({ ...app.def, instances: 0, version: '' });
  const next = normalizeApp({ ...input, id: app.def.id }, version, c.servicePorts, app.def);
  const configChanged = JSON.stringify({ ...next, instances: 0, version: '' }) !== before;
  app.def = next;
  app.versionInfo = configChanged ? { lastScalingAt: version, lastConfigChangeAt: version } : { ...app.versionInfo, lastScalingAt: version };
  c.publish(ev.apiPostEvent(opts.clientIp ?? '127.0.0.1', opts.uri ?? `/v2/apps${next.id}`, next, c.flavour));
  c.publish(ev.groupChangeSuccess(version));
  if (configChanged) return restartWith(c, app, original, opts);
  return startDeployment(c, [app], [step('ScaleApplication', next.id)], original, opts, (x) => scaleTo(x, app));
}

async function scaleTo(x: Ctx, app: SimApp): Promise<void> {
  const current = [...app.tasks.values()];
  const want = app.def.instances;
  if (current.length < want) {
    const used = current.length;
    await launch(
      x,
      app,
      [...Array(want - used).keys()].map((i) => used + i),
    );
  } else if (current.length > want) {
    // killSelection YOUNGEST_FIRST (Marathon's default).
    const victims = current.sort((a, b) => b.stagedAt.localeCompare(a.stagedAt)).slice(0, current.length - want);
    await kill(x, app, victims);
  }
}

function restartWith(c: SimCluster, app: SimApp, original: AppDefinition[], opts: DeployOptions): RunningDeployment {
  return startDeployment(c, [app], [step('RestartApplication', app.def.id)], original, opts, async (x) => {
    const old = [...app.tasks.values()];
    // Rolling: new tasks first (maximumOverCapacity 1), old ones killed once the new are up.
    await launch(x, app, [...Array(app.def.instances).keys()]);
    if (x.d.cancelled) return;
    await kill(
      x,
      app,
      old.filter((t) => app.tasks.has(t.id)),
    );
  });
}

/** `POST /v2/apps/:id/restart`: a new version, same definition. */
export function restartApp(c: SimCluster, id: string, opts: DeployOptions = {}): RunningDeployment {
  const app = c.apps.get(canonicalAppId(id));
  if (!app) throw new Error(`App '${id}' does not exist`);
  const original = allDefs(c);
  const version = isoNow();
  app.def = { ...app.def, version };
  app.versionInfo = { lastScalingAt: version, lastConfigChangeAt: version };
  c.publish(ev.groupChangeSuccess(version));
  return restartWith(c, app, original, opts);
}

/** Scales an app (like `PUT /v2/apps/:id {"instances": n}`). */
export function scaleApp(c: SimCluster, id: string, instances: number, opts: DeployOptions = {}): RunningDeployment {
  return updateApp(c, id, { instances }, opts);
}

/** Deletes an app: it leaves the app list at once, its tasks are killed, then app_terminated_event. */
export function deleteApp(c: SimCluster, id: string, opts: DeployOptions = {}): RunningDeployment {
  const appId = canonicalAppId(id);
  const app = c.apps.get(appId);
  if (!app) throw new Error(`App '${id}' does not exist`);
  const original = allDefs(c);
  c.apps.delete(appId);
  const version = isoNow();
  c.publish(ev.groupChangeSuccess(version));
  return startDeployment(c, [app], [step('StopApplication', appId)], original, opts, async (x) => {
    await kill(x, app, [...app.tasks.values()]);
    if (!x.d.cancelled) c.publish(ev.appTerminatedEvent(appId));
  });
}
