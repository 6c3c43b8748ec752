import { EventEmitter } from 'node:events';
import { appsSourceFrom, eventSourceFrom, REGISTRY_EVENT_TYPES } from '../../src/registry/marathon-adapter';
import { anApp, aStatus } from '../support/builders';
import type { MarathonEvent } from '../../src/marathon/types';

describe('marathon adapters', () => {
  test('getApp: not_found becomes null, other failures propagate', async () => {
    const src = appsSourceFrom({
      getApps: async () => [anApp({ id: '/a' })],
      getApp: async (id) => {
        if (id === '/gone') throw Object.assign(new Error('App does not exist'), { kind: 'not_found' });
        if (id === '/boom') throw Object.assign(new Error('503'), { kind: 'server_error' });
        return anApp({ id });
      },
    });
    expect(await src.getApp('/gone')).toBeNull();
    await expect(src.getApp('/boom')).rejects.toThrow('503');
    expect((await src.getApp('/a'))?.id).toBe('/a');
    expect((await src.getApps()).map((a) => a.id)).toEqual(['/a']);
  });

  test('event stream: connected and event are forwarded until unsubscribed', () => {
    const em = new EventEmitter();
    const seen: string[] = [];
    const off = eventSourceFrom(em).subscribe({ onEvent: (e: MarathonEvent) => seen.push(e.eventType), onConnected: () => seen.push('connected') });
    em.emit('connected', { url: 'x' });
    em.emit('event', aStatus('/a', 'a.1', 'TASK_RUNNING'));
    off();
    em.emit('connected', { url: 'x' });
    expect(seen).toEqual(['connected', 'status_update_event']);
  });

  test('the stream filter leaves out heavy deployment events', () => {
    expect(REGISTRY_EVENT_TYPES).toContain('status_update_event');
    expect(REGISTRY_EVENT_TYPES).not.toContain('deployment_info');
  });
});
