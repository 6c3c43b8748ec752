/**
 * Adapts the Marathon client and event stream (src/marathon) to the small interfaces the sync
 * uses, so the sync is tested with fakes and main.ts only wires.
 */
import type { EventEmitter } from 'node:events';
import type { App, MarathonEvent } from '../marathon/types';
import type { MarathonAppsSource, MarathonEventSource } from './sync';

/**
 * Server-side `event_type` filter for the stream: what the registry acts on. Deployment events are
 * left out on purpose: Marathon 1.4 cannot send light plans, so each one carries two root groups
 * (megabytes at 10,000 apps); definition changes are caught by api_post_event, group_change_success
 * and status events with a newer version.
 */
export const REGISTRY_EVENT_TYPES = [
  'status_update_event',
  'health_status_changed_event',
  'instance_health_changed_event',
  'failed_health_check_event',
  'unhealthy_instance_kill_event',
  'api_post_event',
  'app_terminated_event',
  'add_health_check_event',
  'remove_health_check_event',
  'group_change_success',
] as const;

/** The REST calls needed (MarathonClient has them); `getApp` of an unknown app must throw an error with `kind: 'not_found'`. */
export interface MarathonRestLike {
  getApps(): Promise<App[]>;
  getApp(id: string): Promise<App>;
}

/** `MarathonClient` → `MarathonAppsSource` (404 → null; every other failure propagates). */
export function appsSourceFrom(client: MarathonRestLike): MarathonAppsSource {
  return {
    getApps: () => client.getApps(),
    getApp: async (id) => {
      try {
        return await client.getApp(id);
      } catch (err) {
        if ((err as { kind?: string })?.kind === 'not_found') return null;
        throw err;
      }
    },
  };
}

/** Anything that emits `connected` and `event` (MarathonEvent), like `EventStream`. */
export type EventEmitterLike = Pick<EventEmitter, 'on' | 'off'>;

/** `EventStream` → `MarathonEventSource`. */
export function eventSourceFrom(stream: EventEmitterLike): MarathonEventSource {
  return {
    subscribe(h) {
      const onConnected = (): void => h.onConnected();
      const onEvent = (e: MarathonEvent): void => h.onEvent(e);
      stream.on('connected', onConnected);
      stream.on('event', onEvent);
      return () => {
        stream.off('connected', onConnected);
        stream.off('event', onEvent);
      };
    },
  };
}
