import { classifyEvent } from '../../src/model/events';
import type { MarathonEvent } from '../../src/marathon/types';
import { anApp, aStatus } from '../support/builders';

const T = '2026-01-01T00:00:00.000Z';

describe('intake: each event classified into one typed change', () => {
  const cases: Array<{ desc: string; e: MarathonEvent; want: unknown }> = [
    { desc: 'status update → task change', e: aStatus('/a', 'a.1', 'TASK_RUNNING'), want: { kind: 'task', appId: '/a' } },
    {
      desc: '1.4 health_status_changed (instanceId)',
      e: { eventType: 'health_status_changed_event', appId: '/a', instanceId: 'a.marathon-1', version: T, alive: true, timestamp: T },
      want: { kind: 'health', appId: '/a', instanceId: 'a.marathon-1', alive: true },
    },
    {
      desc: '≤1.3 health_status_changed (taskId)',
      e: { eventType: 'health_status_changed_event', appId: '/a', taskId: 'a.1', version: T, alive: false, timestamp: T },
      want: { kind: 'health', instanceId: 'a.1', alive: false },
    },
    {
      desc: '1.5+ failed_health_check (taskId holds the instance id) → unhealthy',
      e: { eventType: 'failed_health_check_event', appId: '/a', taskId: 'a.instance-x', timestamp: T },
      want: { kind: 'health', instanceId: 'a.instance-x', alive: false },
    },
    {
      desc: 'instance_health_changed null → unknown',
      e: { eventType: 'instance_health_changed_event', instanceId: 'instance [a.instance-x]', runSpecId: '/a', healthy: null, runSpecVersion: T, timestamp: T },
      want: { kind: 'health', instanceId: 'a.instance-x', alive: null },
    },
    {
      desc: 'api_post_event → refetch the app',
      e: { eventType: 'api_post_event', clientIp: '1.1.1.1', uri: '/v2/apps//a', appDefinition: anApp({ id: '/a' }), timestamp: T },
      want: { kind: 'apps', appIds: ['/a'], cause: 'definition' },
    },
    {
      desc: 'app_terminated_event → refetch, announced end',
      e: { eventType: 'app_terminated_event', appId: '/a', timestamp: T },
      want: { kind: 'apps', appIds: ['/a'], cause: 'terminated' },
    },
    {
      desc: 'add_health_check_event → refetch the app',
      e: { eventType: 'add_health_check_event', appId: '/a', timestamp: T } as unknown as MarathonEvent,
      want: { kind: 'apps', appIds: ['/a'], cause: 'definition' },
    },
    {
      desc: 'group_change_success → group',
      e: { eventType: 'group_change_success', groupId: '/shop', version: T, timestamp: T },
      want: { kind: 'group', groupId: '/shop' },
    },
    {
      desc: 'group_change_success without a group id → ignored',
      e: { eventType: 'group_change_success', version: T, timestamp: T } as unknown as MarathonEvent,
      want: { kind: 'ignored', eventType: 'group_change_success' },
    },
    {
      desc: 'deployment_success → refetch every app in the plan, pods skipped',
      e: {
        eventType: 'deployment_success',
        id: 'd',
        timestamp: T,
        plan: {
          id: 'd',
          version: T,
          steps: [
            {
              actions: [
                { action: 'StartApplication', app: '/a' },
                { action: 'StartPod', pod: '/p' },
              ],
            },
            {
              actions: [
                { action: 'ScaleApplication', app: '/a' },
                { action: 'ScaleApplication', app: '/b' },
              ],
            },
          ],
        },
      },
      want: { kind: 'apps', appIds: ['/a', '/b'], cause: 'deployment' },
    },
    {
      desc: 'event_stream_attached → ignored, by type',
      e: { eventType: 'event_stream_attached', remoteAddress: '1.1.1.1', timestamp: T },
      want: { kind: 'ignored', eventType: 'event_stream_attached' },
    },
    {
      desc: 'unknown event type → ignored',
      e: { eventType: 'brand_new_event', timestamp: T } as unknown as MarathonEvent,
      want: { kind: 'ignored', eventType: 'brand_new_event' },
    },
    {
      desc: 'a hostile event type is not a metric label',
      e: { eventType: 'x\u0000'.repeat(100), timestamp: T } as unknown as MarathonEvent,
      want: { kind: 'ignored', eventType: 'other' },
    },
    { desc: 'status update without ids → ignore', e: { eventType: 'status_update_event' } as unknown as MarathonEvent, want: { kind: 'ignored' } },
    { desc: 'deployment without plan → ignore', e: { eventType: 'deployment_info', timestamp: T } as unknown as MarathonEvent, want: { kind: 'ignored' } },
  ];
  test.each(cases)('$desc', ({ e, want }) => expect(classifyEvent(e)).toMatchObject(want as object));
});
