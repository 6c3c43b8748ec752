/**
 * The intake: what a Marathon event means for the catalog, decided once per event. Marathon does
 * not guarantee event order and events carry only part of the state, so: task status and health
 * are applied in place (endpoint changes); anything that changes an app definition only names the
 * apps to refetch (the snapshot converges the rest). Everything downstream (the sync's fetch
 * windows and refetches, the registry's batched writes) consumes these typed changes and never
 * looks at a raw event again.
 */
import type { MarathonEvent, StatusUpdateEvent } from '../marathon/types';
import { normaliseInstanceId } from './tasks';

/** A task's status changed: its endpoint may join, move or leave. */
export interface TaskChange {
  kind: 'task';
  appId: string;
  event: StatusUpdateEvent;
  /** When the event arrived (performance.now() ms), for the event → visible latency metric. */
  receivedAt?: number;
}
/** A health result for one instance (all its tasks); `alive = null` means unknown. */
export interface HealthChange {
  kind: 'health';
  appId: string;
  instanceId: string;
  alive: boolean | null;
  /** When the event arrived (performance.now() ms), for the event → visible latency metric. */
  receivedAt?: number;
}
/** Changes the registry applies in place, batched (they come in volume). */
export type EndpointChange = TaskChange | HealthChange;

/**
 * Why apps are refetched. `terminated`: Marathon announced the app's end (app_terminated_event),
 * the only case in which a 404 on the refetch may remove a published service by itself.
 */
export type RefetchCause = 'definition' | 'terminated' | 'deployment';

export type Change =
  | EndpointChange
  /** App definitions changed (or ended): refetch these apps. */
  | { kind: 'apps'; appIds: string[]; cause: RefetchCause }
  /** A group changed (PUT /v2/groups emits no api_post_event): refetch the known apps under it. */
  | { kind: 'group'; groupId: string }
  /** Nothing for the catalog (unknown type, missing fields); counted by type, then dropped. */
  | { kind: 'ignored'; eventType: string };

export type ChangeKind = Change['kind'];

/** Classify one event. Never throws on odd input (missing fields give `ignored`). */
export function classifyEvent(e: MarathonEvent): Change {
  switch (e.eventType) {
    case 'status_update_event':
      return typeof e.appId === 'string' && typeof e.taskId === 'string' ? { kind: 'task', appId: e.appId, event: e } : ignored(e);
    case 'health_status_changed_event':
      return health(e, e.appId, e.instanceId ?? e.taskId, typeof e.alive === 'boolean' ? e.alive : null);
    case 'instance_health_changed_event':
      return health(e, e.runSpecId, e.instanceId, typeof e.healthy === 'boolean' ? e.healthy : null);
    case 'failed_health_check_event':
      // Marathon marks the instance not alive on the first failure (the kill waits for
      // maxConsecutiveFailures); 1.5+ puts the instance id in `taskId`.
      return health(e, e.appId, e.instanceId ?? e.taskId, false);
    case 'unhealthy_instance_kill_event':
      return health(e, e.appId, e.instanceId ?? e.taskId, false);
    case 'api_post_event':
      return apps(e, [e.appDefinition?.id], 'definition');
    case 'app_terminated_event':
      return apps(e, [e.appId], 'terminated');
    case 'add_health_check_event':
    case 'remove_health_check_event':
      return apps(e, [e.appId], 'definition');
    case 'group_change_success':
      return typeof e.groupId === 'string' && e.groupId.startsWith('/') ? { kind: 'group', groupId: e.groupId } : ignored(e);
    case 'deployment_info':
    case 'deployment_step_success':
    case 'deployment_step_failure':
    case 'deployment_success':
    case 'deployment_failed':
      return apps(e, planApps(e.plan?.steps), 'deployment');
    default:
      return ignored(e);
  }
}

/** The one app a change is about (task and health changes), else null (it may touch many). */
export function changedApp(c: Change): string | null {
  return c.kind === 'task' || c.kind === 'health' ? c.appId : null;
}

export function isEndpointChange(c: Change): c is EndpointChange {
  return c.kind === 'task' || c.kind === 'health';
}

function ignored(e: MarathonEvent): Change {
  const t = (e as { eventType?: unknown }).eventType;
  // The type becomes a metric label: keep it short and printable whatever Marathon sent.
  return { kind: 'ignored', eventType: typeof t === 'string' && /^[a-z_]{1,64}$/.test(t) ? t : 'other' };
}

function health(e: MarathonEvent, appId: unknown, instanceId: unknown, alive: boolean | null): Change {
  if (typeof appId !== 'string' || typeof instanceId !== 'string') return ignored(e);
  return { kind: 'health', appId, instanceId: normaliseInstanceId(instanceId), alive };
}

function apps(e: MarathonEvent, ids: unknown[], cause: RefetchCause): Change {
  const appIds = [...new Set(ids.filter((i): i is string => typeof i === 'string' && i.startsWith('/')))];
  return appIds.length > 0 ? { kind: 'apps', appIds, cause } : ignored(e);
}

function planApps(steps: unknown): unknown[] {
  if (!Array.isArray(steps)) return [];
  const out: unknown[] = [];
  for (const s of steps) {
    const actions = (s as { actions?: unknown })?.actions;
    if (!Array.isArray(actions)) continue;
    for (const a of actions) out.push((a as { app?: unknown })?.app);
  }
  return out;
}
