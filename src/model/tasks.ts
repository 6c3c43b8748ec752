/**
 * Task records and the health rules (docs/labels.md): a task serves only while `TASK_RUNNING`; with
 * Marathon health checks it joins after its first healthy result, and leaves on an explicit unhealthy
 * result or a state change, never because results vanished (a leader change wipes them).
 */
import type { HealthCheckResult, ReadinessCheckResult, StatusUpdateEvent, Task, TaskState } from '../marathon/types';
import { isClean, isTaskId } from '../rules';

/** The last explicit health signal seen for a task. */
export type Health = 'healthy' | 'unhealthy' | 'unknown';

/** What berth remembers about one task; `serving` carries over between snapshots and events. */
export interface TaskRecord {
  taskId: string;
  instanceId: string;
  state: TaskState;
  host: string;
  ports: number[];
  /** IP literals from `ipAddresses[]`, in Marathon's order. */
  ipAddresses: string[];
  health: Health;
  serving: boolean;
}

/** States after which a task never runs again (mesos.proto); such tasks are forgotten. */
export const TERMINAL_STATES: ReadonlySet<string> = new Set([
  'TASK_FINISHED',
  'TASK_FAILED',
  'TASK_KILLED',
  'TASK_ERROR',
  'TASK_DROPPED',
  'TASK_GONE',
  'TASK_GONE_BY_OPERATOR',
]);

/**
 * Instance id of a task id (docs/marathon.md "Ids"): 1.8+ `X.instance-U._app.N` → `X.instance-U`;
 * legacy `X.U` → `X.marathon-U`. Unknown shapes map to themselves.
 */
export function instanceIdOf(taskId: string): string {
  const modern = /^(.+\.instance-[^.]+)\._app\.\d+$/.exec(taskId);
  if (modern) return modern[1];
  const legacy = /^(.+)\.([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$/.exec(taskId);
  if (legacy) return `${legacy[1]}.marathon-${legacy[2]}`;
  return taskId;
}

/** 1.6+ writes health-result instance ids as `"instance [<id>]"`; reduce to the plain id. */
export function normaliseInstanceId(raw: string): string {
  const m = /^instance \[(.*)\]$/.exec(raw);
  return m ? m[1] : raw;
}

/** Health signal carried by a task's `healthCheckResults`; `none` when there are no results. */
export function healthFromResults(results: HealthCheckResult[] | undefined): Health | 'none' {
  if (!Array.isArray(results) || results.length === 0) return 'none';
  return results.every((r) => r && r.alive === true) ? 'healthy' : 'unhealthy';
}

/** The serving rule. `signal` is the health seen now (`none`: nothing new, keep what we had). */
export function nextServing(prevServing: boolean, state: TaskState, healthChecked: boolean, signal: Health | 'none'): boolean {
  // TASK_KILLING (and every other non-running state) leaves at once.
  if (state !== 'TASK_RUNNING') return false;
  if (!healthChecked) return true;
  if (signal === 'healthy') return true;
  if (signal === 'unhealthy') return false;
  // Results vanished or not yet reported: keep the previous decision.
  return prevServing;
}

// Every string kept here is stored with the service (registry tasks): only clean ones are kept.
const ipList = (ips: Task['ipAddresses']): string[] => (Array.isArray(ips) ? ips.filter((i) => i && isClean(i.ipAddress, 'ip')).map((i) => i.ipAddress) : []);
const cleanHost = (h: unknown): string | undefined => (isClean(h, 'host') ? h : undefined);
const cleanPorts = (p: unknown): number[] | undefined =>
  Array.isArray(p) ? p.filter((n): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 65535) : undefined;
// Unknown states are kept only when they are short clean words (they are stored and shown).
const cleanState = (s: unknown): TaskState | undefined => (typeof s === 'string' && /^[A-Z_]{1,64}$/.test(s) ? (s as TaskState) : undefined);

/**
 * Readiness (docs/marathon.md "Readiness checks"), for apps with Marathon readiness checks.
 * `results`: the running deployment's verdict per task id (every check ready), from
 * `readinessCheckResults`; `deploying`: a deployment is in progress. Marathon keeps results only
 * while its deployment runs, so without a deployment a task counts as ready.
 */
export interface Readiness {
  deploying: boolean;
  results: ReadonlyMap<string, boolean>;
}

/** Per-task verdicts from `readinessCheckResults`: ready only when every result for the task is. */
export function readinessResults(results: ReadinessCheckResult[] | undefined): Map<string, boolean> {
  const out = new Map<string, boolean>();
  if (!Array.isArray(results)) return out;
  for (const r of results) {
    if (!r || typeof r.taskId !== 'string') continue;
    out.set(r.taskId, (out.get(r.taskId) ?? true) && r.ready === true);
  }
  return out;
}

/**
 * Whether readiness lets a task serve. A `ready: false` result holds it back; a task with no result
 * joins when no deployment runs (results are gone once it ends) and, during one, only if it already
 * served (the old tasks of a rolling deployment have no results and must keep serving).
 */
export function readinessAllows(r: Readiness | undefined, taskId: string, wasServing: boolean): boolean {
  if (r === undefined) return true;
  const verdict = r.results.get(taskId);
  if (verdict !== undefined) return verdict;
  return !r.deploying || wasServing;
}

/** A task as it appears in `GET /v2/apps?embed=apps.tasks`, merged with what we knew; null if terminal. */
export function taskFromMarathon(task: Task, prev: TaskRecord | undefined, healthChecked: boolean, readiness?: Readiness): TaskRecord | null {
  if (TERMINAL_STATES.has(task.state)) return null;
  // A task whose id cannot be published or stored is not tracked at all.
  if (!isTaskId(task.id)) return null;
  const signal = healthFromResults(task.healthCheckResults);
  const wasRunning = prev?.state === 'TASK_RUNNING';
  // A state change away from running clears the previous decision; coming back needs a new healthy result.
  const prevServing = prev !== undefined && wasRunning && prev.serving;
  const state = cleanState(task.state) ?? 'TASK_STAGING';
  return {
    taskId: task.id,
    instanceId: instanceIdOf(task.id),
    state,
    host: cleanHost(task.host) ?? prev?.host ?? '',
    ports: cleanPorts(task.ports) ?? prev?.ports ?? [],
    ipAddresses: Array.isArray(task.ipAddresses) ? ipList(task.ipAddresses) : (prev?.ipAddresses ?? []),
    health: signal === 'none' ? (prev?.health ?? 'unknown') : signal,
    serving: nextServing(prevServing, state, healthChecked, signal) && readinessAllows(readiness, task.id, prevServing),
  };
}

/**
 * A `status_update_event` applied to what we knew about that task; null when the task is gone.
 * `holdNew`: readiness is pending for the app (a deployment runs): a task not serving yet does not
 * join on a status event; the refetch that shows it ready (or the deployment over) lets it in.
 */
export function taskFromStatus(ev: StatusUpdateEvent, prev: TaskRecord | undefined, healthChecked: boolean, holdNew = false): TaskRecord | null {
  if (TERMINAL_STATES.has(ev.taskStatus)) return null;
  if (!isTaskId(ev.taskId)) return null;
  const state = cleanState(ev.taskStatus);
  if (state === undefined) return prev ?? null;
  const prevServing = prev !== undefined && prev.state === 'TASK_RUNNING' && prev.serving;
  const host = cleanHost(ev.host);
  const ports = cleanPorts(ev.ports);
  return {
    taskId: ev.taskId,
    instanceId: instanceIdOf(ev.taskId),
    state,
    host: host !== undefined && host !== 'unknown' ? host : (prev?.host ?? ''),
    ports: ports !== undefined && ports.length > 0 ? ports : (prev?.ports ?? []),
    ipAddresses: Array.isArray(ev.ipAddresses) && ev.ipAddresses.length > 0 ? ipList(ev.ipAddresses) : (prev?.ipAddresses ?? []),
    health: prev?.health ?? 'unknown',
    serving: nextServing(prevServing, state, healthChecked, 'none') && (prevServing || !holdNew),
  };
}

/** An explicit health signal (`alive`/`healthy` from an event); `null` = unknown, keeps the decision. `holdNew` as for `taskFromStatus`. */
export function taskWithHealth(prev: TaskRecord, alive: boolean | null, healthChecked: boolean, holdNew = false): TaskRecord {
  const signal: Health | 'none' = alive === null ? 'none' : alive ? 'healthy' : 'unhealthy';
  const wasServing = prev.state === 'TASK_RUNNING' && prev.serving;
  return {
    ...prev,
    health: signal === 'none' ? prev.health : signal,
    serving: nextServing(wasServing, prev.state, healthChecked, signal) && (wasServing || !holdNew),
  };
}
