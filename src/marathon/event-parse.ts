/**
 * One SSE message → a typed Marathon event, or the reason it is skipped. The SSE event name and
 * the JSON `eventType` are the same string in every Marathon version (docs/marathon.md "Framing").
 */
import type { MarathonEvent, MarathonEventType } from './types';

/** Every `eventType` Marathon 1.4–1.10 writes (Events.scala). */
export const KNOWN_EVENT_TYPES: ReadonlySet<string> = new Set<MarathonEventType>([
  'api_post_event',
  'pod_created_event',
  'pod_updated_event',
  'pod_deleted_event',
  'scheduler_registered_event',
  'scheduler_reregistered_event',
  'scheduler_disconnected_event',
  'subscribe_event',
  'unsubscribe_event',
  'event_stream_attached',
  'event_stream_detached',
  'add_health_check_event',
  'remove_health_check_event',
  'failed_health_check_event',
  'health_status_changed_event',
  'unhealthy_instance_kill_event',
  'group_change_success',
  'group_change_failed',
  'deployment_success',
  'deployment_failed',
  'deployment_info',
  'deployment_step_success',
  'deployment_step_failure',
  'app_terminated_event',
  'status_update_event',
  'instance_changed_event',
  'unknown_instance_terminated_event',
  'instance_health_changed_event',
  'framework_message_event',
]);

export type SkipReason = 'unknown_type' | 'malformed_json' | 'wrong_shape';

export type ParseResult = { ok: true; event: MarathonEvent } | { ok: false; reason: SkipReason; detail: string };

type Json = Record<string, unknown>;

const str = (o: Json, k: string): boolean => typeof o[k] === 'string';

/** Fields a consumer relies on, per type; other known types only need `eventType`. */
function shapeError(type: string, o: Json): string | undefined {
  switch (type) {
    case 'status_update_event':
      if (!str(o, 'taskId') || !str(o, 'appId') || !str(o, 'taskStatus')) return 'needs string taskId, appId, taskStatus';
      if (o.ipAddresses !== undefined && !Array.isArray(o.ipAddresses)) return 'ipAddresses is not an array';
      if (o.ports !== undefined && !Array.isArray(o.ports)) return 'ports is not an array';
      return undefined;
    case 'health_status_changed_event':
      if (!str(o, 'appId') || typeof o.alive !== 'boolean' || !(str(o, 'instanceId') || str(o, 'taskId'))) return 'needs appId, alive and instanceId/taskId';
      return undefined;
    case 'instance_health_changed_event':
      return str(o, 'instanceId') && str(o, 'runSpecId') ? undefined : 'needs instanceId, runSpecId';
    case 'failed_health_check_event':
    case 'app_terminated_event':
      return str(o, 'appId') ? undefined : 'needs appId';
    case 'api_post_event': {
      const def = o.appDefinition as Json | undefined;
      return def && typeof def === 'object' && typeof def.id === 'string' ? undefined : 'needs appDefinition.id';
    }
    case 'instance_changed_event':
      return str(o, 'instanceId') && str(o, 'runSpecId') && str(o, 'condition') ? undefined : 'needs instanceId, runSpecId, condition';
    default:
      return undefined;
  }
}

/** Parses one message (`type` from the `event:` line, `data` the joined `data:` lines). */
export function parseEvent(type: string, data: string): ParseResult {
  if (!KNOWN_EVENT_TYPES.has(type)) return { ok: false, reason: 'unknown_type', detail: type };
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch (e) {
    return { ok: false, reason: 'malformed_json', detail: (e as Error).message };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { ok: false, reason: 'wrong_shape', detail: 'not an object' };
  const o = parsed as Json;
  if (o.eventType !== type) return { ok: false, reason: 'wrong_shape', detail: `eventType ${String(o.eventType)} under event: ${type}` };
  const err = shapeError(type, o);
  if (err) return { ok: false, reason: 'wrong_shape', detail: `${type}: ${err}` };
  return { ok: true, event: o as unknown as MarathonEvent };
}
