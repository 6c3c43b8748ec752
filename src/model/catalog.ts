/**
 * Per-app state the catalog is computed from, and how snapshots and events change it. Records are
 * treated as immutable: every change returns a new record, so a failed database write can simply
 * drop the new ones and keep the old.
 */
import type { App, StatusUpdateEvent } from '../marathon/types';
import { parseApp, type ServiceSpec, type SpecOptions } from './spec';
import { readinessResults, taskFromMarathon, taskFromStatus, taskWithHealth, type Readiness, type TaskRecord } from './tasks';
import type { Problem } from './types';

/** Everything berth knows about one Marathon app. */
export interface AppRecord {
  appId: string;
  /**
   * Null when the app is not berth's business (`ignored`) or its labels are invalid (`problems`);
   * else the first of `specs`, which carries what the app's services share (version, health…).
   */
  spec: ServiceSpec | null;
  /**
   * Every service the app publishes: the main one (`berth.domain`) and one per published port
   * (docs/labels.md "Several ports"). Absent on records built before ports existed: `[spec]`.
   */
  specs?: readonly ServiceSpec[];
  /** Label problems (empty for valid and ignored apps). */
  problems: Problem[];
  /** Tasks by id; kept only for apps with a spec. */
  tasks: ReadonlyMap<string, TaskRecord>;
  /** When berth first saw this app (ms since epoch): "the older app keeps the domain". */
  firstSeen: number;
}

const NO_TASKS: ReadonlyMap<string, TaskRecord> = new Map();

/** Build the record for an app from Marathon (with embedded tasks), carrying over task decisions from `prev`. */
export function recordFromApp(app: App, prev: AppRecord | undefined, opts: SpecOptions, now: number): AppRecord {
  const firstSeen = prev?.firstSeen ?? now;
  const parsed = parseApp(app, opts);
  if (parsed.kind === 'ignored') return { appId: app.id, spec: null, problems: [], tasks: NO_TASKS, firstSeen };
  if (parsed.kind === 'invalid') return { appId: app.id, spec: null, problems: parsed.problems, tasks: NO_TASKS, firstSeen };
  const { spec, specs } = parsed;
  const prevTasks = prev?.tasks ?? NO_TASKS;
  // An app without a `tasks` field (e.g. an `api_post_event` definition) says nothing about tasks.
  if (!Array.isArray(app.tasks)) return { appId: app.id, spec, specs, problems: [], tasks: prevTasks, firstSeen };
  const readiness: Readiness | undefined = spec.readinessChecked
    ? { deploying: spec.deploying === true, results: readinessResults(app.readinessCheckResults) }
    : undefined;
  const tasks = new Map<string, TaskRecord>();
  for (const t of app.tasks) {
    if (!t || typeof t.id !== 'string') continue;
    const r = taskFromMarathon(t, prevTasks.get(t.id), spec.healthChecked, readiness);
    if (r) tasks.set(r.taskId, r);
  }
  return { appId: app.id, spec, specs, problems: [], tasks, firstSeen };
}

/** The services an app record publishes (see `AppRecord.specs`). */
export function specsOf(r: AppRecord): readonly ServiceSpec[] {
  return r.specs ?? (r.spec ? [r.spec] : []);
}

/**
 * Readiness is pending for the app: it has readiness checks and a deployment ran when it was last
 * fetched, or a task event carries a newer version than we hold (a deployment we have not fetched).
 */
export function readinessPending(spec: ServiceSpec, eventVersion?: unknown): boolean {
  if (spec.readinessChecked !== true) return false;
  return spec.deploying === true || (typeof eventVersion === 'string' && eventVersion > spec.version);
}

/** Apply a `status_update_event`; returns `prev` itself when nothing changed. */
export function recordWithStatus(prev: AppRecord, ev: StatusUpdateEvent): AppRecord {
  if (!prev.spec) return prev;
  const old = prev.tasks.get(ev.taskId);
  const next = taskFromStatus(ev, old, prev.spec.healthChecked, readinessPending(prev.spec, ev.version));
  if (next === null && old === undefined) return prev;
  if (next !== null && old !== undefined && sameTask(old, next)) return prev;
  const tasks = new Map(prev.tasks);
  if (next === null) tasks.delete(ev.taskId);
  else tasks.set(next.taskId, next);
  return { ...prev, tasks };
}

/** Apply a health signal for one instance (all its tasks); `alive = null` means unknown. */
export function recordWithHealth(prev: AppRecord, instanceId: string, alive: boolean | null): AppRecord {
  if (!prev.spec) return prev;
  let tasks: Map<string, TaskRecord> | null = null;
  for (const t of prev.tasks.values()) {
    // Pre-1.4 health events carry the task id itself.
    if (t.instanceId !== instanceId && t.taskId !== instanceId) continue;
    const next = taskWithHealth(t, alive, prev.spec.healthChecked, readinessPending(prev.spec));
    if (sameTask(t, next)) continue;
    tasks ??= new Map(prev.tasks);
    tasks.set(t.taskId, next);
  }
  return tasks ? { ...prev, tasks } : prev;
}

function sameTask(a: TaskRecord, b: TaskRecord): boolean {
  return (
    a.state === b.state &&
    a.serving === b.serving &&
    a.health === b.health &&
    a.host === b.host &&
    sameList(a.ports, b.ports) &&
    sameList(a.ipAddresses, b.ipAddresses)
  );
}

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
