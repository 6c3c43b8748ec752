/**
 * The readiness rule (docs/marathon.md "Readiness checks"): with Marathon readiness checks a task a
 * deployment starts joins only once Marathon reports it ready; old tasks keep serving; after the
 * deployment (no results any more) running tasks count as ready.
 */
import { recordFromApp, recordWithHealth, recordWithStatus } from '../../src/model/catalog';
import { readinessResults } from '../../src/model/tasks';
import type { App, ReadinessCheckResult } from '../../src/marathon/types';
import { anApp, aStatus, aTask } from '../support/builders';

const opts = { defaultEnv: 'default' };
const V2 = '2026-02-01T00:00:00.000Z';

const app = (over: Partial<App>, ...taskIds: string[]): App =>
  anApp({
    id: '/web',
    labels: { 'berth.domain': 'web.example' },
    readinessChecks: [{ name: 'readinessCheck' }],
    tasks: taskIds.map((id, i) => aTask({ id, host: `10.0.0.${i + 1}`, ports: [31000], state: 'TASK_RUNNING' })),
    ...over,
  });
const serving = (r: ReturnType<typeof recordFromApp>) => [...r.tasks.values()].filter((t) => t.serving).map((t) => t.taskId);
const deploying = { deployments: [{ id: 'd-1' }] };
const results = (...r: Array<[string, boolean]>): { readinessCheckResults: ReadinessCheckResult[] } => ({
  readinessCheckResults: r.map(([taskId, ready]) => ({ name: 'readinessCheck', taskId, ready })),
});

describe('readiness checks', () => {
  test('during a deployment: the old task keeps serving, the new one waits for ready: true', () => {
    const before = recordFromApp(app({}, 'web.old'), undefined, opts, 1);
    expect(serving(before)).toEqual(['web.old']);
    const notReady = recordFromApp(app({ ...deploying, ...results(['web.new', false]) }, 'web.old', 'web.new'), before, opts, 1);
    expect(serving(notReady)).toEqual(['web.old']);
    const noResultYet = recordFromApp(app({ ...deploying }, 'web.old', 'web.new'), before, opts, 1);
    expect(serving(noResultYet)).toEqual(['web.old']);
    const ready = recordFromApp(app({ ...deploying, ...results(['web.new', true]) }, 'web.old', 'web.new'), notReady, opts, 1);
    expect(serving(ready)).toEqual(['web.old', 'web.new']);
  });

  test('after the deployment (results gone) running tasks are ready; ready: false holds even a serving task back', () => {
    const during = recordFromApp(app({ ...deploying, ...results(['web.new', false]) }, 'web.new'), undefined, opts, 1);
    expect(serving(during)).toEqual([]);
    expect(serving(recordFromApp(app({}, 'web.new'), during, opts, 1))).toEqual(['web.new']);
    const was = recordFromApp(app({}, 'web.a'), undefined, opts, 1);
    expect(serving(recordFromApp(app({ ...deploying, ...results(['web.a', false]) }, 'web.a'), was, opts, 1))).toEqual([]);
  });

  test('status and health events do not let a new task join while readiness is pending', () => {
    const rec = recordFromApp(app({ ...deploying }, 'web.old'), recordFromApp(app({}, 'web.old'), undefined, opts, 1), opts, 1);
    const started = recordWithStatus(rec, aStatus('/web', 'web.new', 'TASK_RUNNING', { host: '10.0.0.9', ports: [31000] }));
    expect(serving(started)).toEqual(['web.old']);
    expect(serving(recordWithHealth(started, 'web.new', true))).toEqual(['web.old']);
    // A task of a newer version than berth holds: a deployment berth has not fetched yet.
    const idle = recordFromApp(app({}, 'web.old'), undefined, opts, 1);
    const newer = recordWithStatus(idle, aStatus('/web', 'web.v2', 'TASK_RUNNING', { host: '10.0.0.9', ports: [31000], version: V2 }));
    expect(serving(newer)).toEqual(['web.old']);
    // Without readiness checks nothing changes: a running task joins on its status event.
    const plain = recordFromApp(app({ readinessChecks: [] }, 'web.old'), undefined, opts, 1);
    expect(serving(recordWithStatus(plain, aStatus('/web', 'web.v2', 'TASK_RUNNING', { host: '10.0.0.9', ports: [31000], version: V2 })))).toEqual([
      'web.old',
      'web.v2',
    ]);
  });

  test('hostile readiness results: only well-formed entries count, every check of a task must be ready', () => {
    const odd = [
      null,
      { taskId: 5, ready: true },
      { taskId: 'a', ready: 'yes' },
      { taskId: 'b', ready: true },
      { taskId: 'b', ready: false },
      { taskId: 'c', ready: true },
    ];
    expect([...readinessResults(odd as unknown as ReadinessCheckResult[])]).toEqual([
      ['a', false],
      ['b', false],
      ['c', true],
    ]);
    expect(readinessResults('nope' as unknown as ReadinessCheckResult[]).size).toBe(0);
  });
});
