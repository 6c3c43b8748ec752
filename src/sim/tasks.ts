/**
 * Task lifecycle: placement, state transitions and Marathon-side health, each emitting the events
 * real Marathon emits (status_update_event then instance_changed_event; health events per flavour).
 */
import { isIP } from 'node:net';
import * as ev from './events';
import { type AppDefinition, type SimApp, type SimTask, type TaskState, TERMINAL_STATES, isoNow, newUuid, taskIds } from './model';
import { networkMode } from './normalize';
import { type PlaceTask, type SimCluster, ipAddressOf } from './state';

type Json = Record<string, unknown>;

/** Docker `--ip` given as a parameter (`{"key":"ip","value":…}`), if any. */
function fixedIp(def: AppDefinition): string | undefined {
  const docker = (def.container as Json | undefined)?.docker as Json | undefined;
  const params = (docker?.parameters as { key: string; value: string }[] | undefined) ?? [];
  return params.find((p) => p.key === 'ip')?.value;
}

function defaultPorts(c: SimCluster, def: AppDefinition): number[] {
  const mode = networkMode(def);
  if (mode === 'host') {
    return (def.portDefinitions as Json[]).map((pd) => (def.requirePorts ? (pd.port as number) : c.allocHostPort()));
  }
  const pms = ((def.container as Json | undefined)?.portMappings as Json[] | undefined) ?? [];
  return pms.filter((pm) => pm.hostPort !== undefined).map((pm) => (pm.hostPort === 0 ? c.allocHostPort() : (pm.hostPort as number)));
}

/** Creates a STAGING task for the app (placed by the cluster's rules or the test's override). */
export function newTask(c: SimCluster, app: SimApp, index: number, place?: PlaceTask, uuid = newUuid(), incarnation = 1): SimTask {
  const def = app.def;
  const agent = c.nextAgent();
  const mode = networkMode(def);
  const ip = fixedIp(def);
  let ips: string[];
  if (ip) ips = [ip];
  else if (mode === 'container') ips = [c.allocIp(false)];
  else if (mode === 'container/bridge') ips = [c.allocIp(true)];
  else ips = isIP(agent.host) ? [agent.host] : [];
  const override = (place ?? c.placeTask)?.(def, index) ?? {};
  const ids = taskIds(c.flavour, def.id, uuid, incarnation);
  return {
    uuid,
    ...ids,
    appId: def.id,
    state: 'TASK_STAGING',
    message: '',
    stagedAt: isoNow(),
    startedAt: null,
    version: def.version,
    incarnation,
    health: null,
    ready: null,
    host: override.host ?? agent.host,
    slaveId: override.slaveId ?? agent.slaveId,
    ports: override.ports ?? defaultPorts(c, def),
    ipAddresses: override.ipAddresses ?? ips.map(ipAddressOf),
  };
}

/** Moves a task to `state`, emitting status_update_event + instance_changed_event; terminal tasks leave the app. */
export function setTaskState(c: SimCluster, app: SimApp, task: SimTask, state: TaskState, message = ''): void {
  task.state = state;
  task.message = message;
  if (state === 'TASK_RUNNING' && !task.startedAt) task.startedAt = isoNow();
  if (state === 'TASK_KILLING' || TERMINAL_STATES.has(state)) task.health = null;
  c.publish(ev.statusUpdateEvent(task));
  c.publish(ev.instanceChangedEvent(task));
  if (TERMINAL_STATES.has(state)) app.tasks.delete(task.id);
}

function hasMarathonHealthChecks(def: AppDefinition): boolean {
  const hcs = (def.healthChecks as Json[] | undefined) ?? [];
  return hcs.some((hc) => ['HTTP', 'HTTPS', 'TCP', undefined].includes(hc.protocol as string | undefined));
}

/**
 * Records one health check result. Events follow HealthCheckActor: a failure emits
 * failed_health_check_event; a flip of `alive` emits health_status_changed_event; the aggregate
 * instance health change emits instance_health_changed_event.
 */
export function setHealth(c: SimCluster, app: SimApp, task: SimTask, alive: boolean, cause = 'simulated failure'): void {
  const now = isoNow();
  const prev = task.health;
  const h = prev ? { ...prev } : { alive, consecutiveFailures: 0, firstSuccess: null, lastSuccess: null, lastFailure: null, lastFailureCause: null };
  h.alive = alive;
  if (alive) {
    h.consecutiveFailures = 0;
    h.lastSuccess = now;
    h.firstSuccess ??= now;
  } else {
    h.consecutiveFailures += 1;
    h.lastFailure = now;
    h.lastFailureCause = cause;
  }
  task.health = h;
  const marathonSide = hasMarathonHealthChecks(app.def);
  if (!alive && marathonSide) c.publish(ev.failedHealthCheckEvent(task, app.def, c.flavour));
  if (prev?.alive !== alive) {
    if (marathonSide) c.publish(ev.healthStatusChangedEvent(task, alive));
    c.publish(ev.instanceHealthChangedEvent(task, alive));
  }
}

/** Marathon keeps health results in memory only: a new leader starts with none (peers pitfall 1). */
export function wipeHealth(c: SimCluster): void {
  for (const t of c.allTasks()) t.health = null;
}

export function hasHealthChecks(def: AppDefinition): boolean {
  return ((def.healthChecks as unknown[] | undefined) ?? []).length > 0;
}

export function hasReadinessChecks(def: AppDefinition): boolean {
  return Array.isArray(def.readinessChecks) && def.readinessChecks.length > 0;
}

/** Sets a task's readiness verdict (no event: Marathon has none for readiness) and wakes deployments waiting on it. */
export function setReady(c: SimCluster, task: SimTask, ready: boolean): void {
  task.ready = ready;
  c.emit('readiness');
}
