import { recordFromApp, recordWithHealth, recordWithStatus, type AppRecord } from '../../src/model/catalog';
import { instanceIdOf, nextServing, normaliseInstanceId, type TaskRecord } from '../../src/model/tasks';
import type { App, TaskState } from '../../src/marathon/types';
import { aHealthChange, anApp, aStatus, aTask, healthy, unhealthy, withDomain, withHealthChecks, withTasks } from '../support/builders';
import { classifyEvent } from '../../src/model/events';

const opts = { defaultEnv: 'default' };
const serving = (r: AppRecord): string[] => [...r.tasks.values()].filter((t) => t.serving).map((t) => t.taskId);
const build = (app: App, prev?: AppRecord): AppRecord => recordFromApp(app, prev, opts, 0);

describe('nextServing: the rule table', () => {
  const cases: Array<{ desc: string; prev: boolean; state: TaskState; hc: boolean; signal: 'healthy' | 'unhealthy' | 'unknown' | 'none'; want: boolean }> = [
    { desc: 'running, no health checks → serves', prev: false, state: 'TASK_RUNNING', hc: false, signal: 'none', want: true },
    { desc: 'staging never serves', prev: false, state: 'TASK_STAGING', hc: false, signal: 'none', want: false },
    { desc: 'starting never serves', prev: true, state: 'TASK_STARTING', hc: false, signal: 'none', want: false },
    { desc: 'killing leaves at once, even healthy', prev: true, state: 'TASK_KILLING', hc: true, signal: 'healthy', want: false },
    { desc: 'unreachable leaves', prev: true, state: 'TASK_UNREACHABLE', hc: false, signal: 'none', want: false },
    { desc: 'health-checked new task waits for a result', prev: false, state: 'TASK_RUNNING', hc: true, signal: 'none', want: false },
    { desc: 'health-checked task joins on first healthy result', prev: false, state: 'TASK_RUNNING', hc: true, signal: 'healthy', want: true },
    { desc: 'serving task leaves on explicit unhealthy', prev: true, state: 'TASK_RUNNING', hc: true, signal: 'unhealthy', want: false },
    { desc: 'serving task stays when results vanish', prev: true, state: 'TASK_RUNNING', hc: true, signal: 'none', want: true },
    { desc: 'non-serving task stays out when results vanish', prev: false, state: 'TASK_RUNNING', hc: true, signal: 'none', want: false },
  ];
  test.each(cases)('$desc', ({ prev, state, hc, signal, want }) => {
    expect(nextServing(prev, state, hc, signal)).toBe(want);
  });
});

describe('health rules over snapshots and events', () => {
  test('without health checks a running task serves and a staging one does not', () => {
    const app = anApp({ id: '/a' }, withDomain('a.com'), withTasks(aTask({ id: 'a.1' }), aTask({ id: 'a.2', state: 'TASK_STAGING' })));
    expect(serving(build(app))).toEqual(['a.1']);
  });

  test('with health checks a task joins after its first healthy result', () => {
    const t = aTask({ id: 'a.1' });
    const r1 = build(anApp({ id: '/a' }, withDomain('a.com'), withHealthChecks(), withTasks(t)));
    expect(serving(r1)).toEqual([]);
    const r2 = build(anApp({ id: '/a' }, withDomain('a.com'), withHealthChecks(), withTasks({ ...t, healthCheckResults: [healthy()] })), r1);
    expect(serving(r2)).toEqual(['a.1']);
  });

  test('a Marathon leader change wipes health results: serving tasks keep serving', () => {
    const t = aTask({ id: 'a.1', healthCheckResults: [healthy()] });
    const r1 = build(anApp({ id: '/a' }, withDomain('a.com'), withHealthChecks(), withTasks(t)));
    const wiped = { ...t, healthCheckResults: [] };
    const r2 = build(anApp({ id: '/a' }, withDomain('a.com'), withHealthChecks(), withTasks(wiped)), r1);
    expect(serving(r2)).toEqual(['a.1']);
    const absent = { ...t };
    delete absent.healthCheckResults;
    expect(serving(build(anApp({ id: '/a' }, withDomain('a.com'), withHealthChecks(), withTasks(absent)), r2))).toEqual(['a.1']);
  });

  test('an explicit unhealthy result (any check) removes the task; a healthy one brings it back', () => {
    const t = aTask({ id: 'a.1', healthCheckResults: [healthy()] });
    const r1 = build(anApp({ id: '/a' }, withDomain('a.com'), withHealthChecks(), withTasks(t)));
    const r2 = build(anApp({ id: '/a' }, withDomain('a.com'), withHealthChecks(), withTasks({ ...t, healthCheckResults: [healthy(), unhealthy()] })), r1);
    expect(serving(r2)).toEqual([]);
    const r3 = build(anApp({ id: '/a' }, withDomain('a.com'), withHealthChecks(), withTasks({ ...t, healthCheckResults: [] })), r2);
    expect(serving(r3)).toEqual([]);
    const r4 = build(anApp({ id: '/a' }, withDomain('a.com'), withHealthChecks(), withTasks({ ...t, healthCheckResults: [healthy()] })), r3);
    expect(serving(r4)).toEqual(['a.1']);
  });

  test('TASK_KILLING leaves at once and a terminal state forgets the task', () => {
    const r1 = build(anApp({ id: '/a' }, withDomain('a.com'), withTasks(aTask({ id: 'a.1' }))));
    const r2 = recordWithStatus(r1, aStatus('/a', 'a.1', 'TASK_KILLING'));
    expect(serving(r2)).toEqual([]);
    expect(r2.tasks.has('a.1')).toBe(true);
    const r3 = recordWithStatus(r2, aStatus('/a', 'a.1', 'TASK_KILLED'));
    expect(r3.tasks.has('a.1')).toBe(false);
  });

  test('status events: staging → running joins without health checks, waits with them', () => {
    const plain = build(anApp({ id: '/a' }, withDomain('a.com')));
    const s1 = recordWithStatus(plain, aStatus('/a', 'a.9', 'TASK_STAGING'));
    expect(serving(s1)).toEqual([]);
    expect(serving(recordWithStatus(s1, aStatus('/a', 'a.9', 'TASK_RUNNING')))).toEqual(['a.9']);

    const checked = build(anApp({ id: '/a' }, withDomain('a.com'), withHealthChecks()));
    const c1 = recordWithStatus(checked, aStatus('/a', 'a.9', 'TASK_RUNNING'));
    expect(serving(c1)).toEqual([]);
  });

  test('health events join and leave by instance id (legacy ids)', () => {
    const id = 'a.00000000-0000-4000-8000-0000000000aa';
    const r0 = build(anApp({ id: '/a' }, withDomain('a.com'), withHealthChecks(), withTasks(aTask({ id }))));
    const join = classifyEvent(aHealthChange('/a', id, true));
    if (join.kind !== 'health') throw new Error('expected a health effect');
    const r1 = recordWithHealth(r0, join.instanceId, join.alive);
    expect(serving(r1)).toEqual([id]);
    const leave = classifyEvent(aHealthChange('/a', id, false));
    if (leave.kind !== 'health') throw new Error('expected a health effect');
    expect(serving(recordWithHealth(r1, leave.instanceId, leave.alive))).toEqual([]);
  });

  test('instance_health_changed_event with healthy=null keeps the decision', () => {
    const id = 'a.instance-abc._app.1';
    const r0 = build(anApp({ id: '/a' }, withDomain('a.com'), withHealthChecks(), withTasks(aTask({ id, healthCheckResults: [healthy()] }))));
    const e = classifyEvent({
      eventType: 'instance_health_changed_event',
      instanceId: 'a.instance-abc',
      runSpecId: '/a',
      healthy: null,
      runSpecVersion: '',
      timestamp: '',
    });
    if (e.kind !== 'health') throw new Error('expected a health effect');
    expect(serving(recordWithHealth(r0, e.instanceId, e.alive))).toEqual([id]);
  });

  test('a running status event for a serving task keeps it serving (no flap)', () => {
    const r1 = build(anApp({ id: '/a' }, withDomain('a.com'), withHealthChecks(), withTasks(aTask({ id: 'a.1', healthCheckResults: [healthy()] }))));
    expect(
      recordWithStatus(
        r1,
        aStatus('/a', 'a.1', 'TASK_RUNNING', { host: '10.0.0.1', ports: [31000], ipAddresses: [{ ipAddress: '172.17.0.2', protocol: 'IPv4' }] }),
      ),
    ).toBe(r1);
  });

  test('a task that left on a state change needs a new healthy result to come back', () => {
    const r1 = build(anApp({ id: '/a' }, withDomain('a.com'), withHealthChecks(), withTasks(aTask({ id: 'a.1', healthCheckResults: [healthy()] }))));
    const r2 = recordWithStatus(r1, aStatus('/a', 'a.1', 'TASK_UNREACHABLE'));
    const r3 = recordWithStatus(r2, aStatus('/a', 'a.1', 'TASK_RUNNING'));
    expect(serving(r3)).toEqual([]);
  });
});

describe('instance ids', () => {
  const cases = [
    { desc: '1.4 legacy task id', task: 'team_web.0139427f-b042-11e8-9638-0242ac12001f', inst: 'team_web.marathon-0139427f-b042-11e8-9638-0242ac12001f' },
    { desc: '1.8+ task id', task: 'svc.instance-c0caec0a-1111-2222-3333-444455556666._app.42', inst: 'svc.instance-c0caec0a-1111-2222-3333-444455556666' },
    { desc: 'unknown shape maps to itself', task: 'weird', inst: 'weird' },
  ];
  test.each(cases)('$desc', ({ task, inst }) => expect(instanceIdOf(task)).toBe(inst));
  test('1.6+ "instance [..]" wrapper is removed', () => {
    expect(normaliseInstanceId('instance [spark.marathon-c0ef]')).toBe('spark.marathon-c0ef');
  });
});

export type { TaskRecord };
