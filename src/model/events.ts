/**
 * What a Marathon event means for the catalog. Marathon does not guarantee event order and events
 * carry only part of the state, so: task status and health are applied in place; anything that
 * changes an app definition only names the apps to refetch (the snapshot converges the rest).
 */
import type { MarathonEvent, StatusUpdateEvent } from '../marathon/types';
import { normaliseInstanceId } from './tasks';

export type EventEffect =
  | { kind: 'status'; appId: string; event: StatusUpdateEvent }
  | { kind: 'health'; appId: string; instanceId: string; alive: boolean | null }
  | { kind: 'refetch'; appIds: string[] }
  /** A group changed (PUT /v2/groups emits no api_post_event): refetch the known apps under it. */
  | { kind: 'group'; groupId: string }
  | { kind: 'ignore' };

const IGNORE: EventEffect = { kind: 'ignore' };

/** Classify one event. Never throws on odd input (missing fields give `ignore`). */
export function eventEffect(e: MarathonEvent): EventEffect {
  switch (e.eventType) {
    case 'status_update_event':
      return typeof e.appId === 'string' && typeof e.taskId === 'string' ? { kind: 'status', appId: e.appId, event: e } : IGNORE;
    case 'health_status_changed_event':
      return health(e.appId, e.instanceId ?? e.taskId, typeof e.alive === 'boolean' ? e.alive : null);
    case 'instance_health_changed_event':
      return health(e.runSpecId, e.instanceId, typeof e.healthy === 'boolean' ? e.healthy : null);
    case 'failed_health_check_event':
      // Marathon marks the instance not alive on the first failure (the kill waits for
      // maxConsecutiveFailures); 1.5+ puts the instance id in `taskId`.
      return health(e.appId, e.instanceId ?? e.taskId, false);
    case 'unhealthy_instance_kill_event':
      return health(e.appId, e.instanceId ?? e.taskId, false);
    case 'api_post_event':
      return refetch([e.appDefinition?.id]);
    case 'app_terminated_event':
    case 'add_health_check_event':
    case 'remove_health_check_event':
      return refetch([e.appId]);
    case 'group_change_success':
      return typeof e.groupId === 'string' && e.groupId.startsWith('/') ? { kind: 'group', groupId: e.groupId } : IGNORE;
    case 'deployment_info':
    case 'deployment_step_success':
    case 'deployment_step_failure':
    case 'deployment_success':
    case 'deployment_failed':
      return refetch(planApps(e.plan?.steps));
    default:
      return IGNORE;
  }
}

function health(appId: unknown, instanceId: unknown, alive: boolean | null): EventEffect {
  if (typeof appId !== 'string' || typeof instanceId !== 'string') return IGNORE;
  return { kind: 'health', appId, instanceId: normaliseInstanceId(instanceId), alive };
}

function refetch(ids: unknown[]): EventEffect {
  const appIds = [...new Set(ids.filter((i): i is string => typeof i === 'string' && i.startsWith('/')))];
  return appIds.length > 0 ? { kind: 'refetch', appIds } : IGNORE;
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
