/** The simulator's 'replace' pump: tasks die and new tasks take their place at addresses not seen before (bench/events). */
import { SimCluster } from '../../src/sim';
import type { SimEvent, SimTask } from '../../src/sim';
import { pump, seed } from '../../src/sim/seed';

const address = (t: SimTask) => `${t.host}:${t.ports.join(',')}`;

describe("simulator pump, kind 'replace'", () => {
  it('kills a task and starts a new one of the same app at a new address, keeping the instance count', async () => {
    const c = new SimCluster({ agents: ['10.1.0.1', '10.1.0.2', '10.1.0.3'] });
    seed(c, { apps: 4, tasksPerApp: 3 });
    const everSeen = new Set(c.allTasks().map(address));
    const statuses: string[] = [];
    c.on('event', (e: SimEvent) => {
      if (e.eventType === 'status_update_event') statuses.push(`${String(e.taskId)} ${String(e.taskStatus)}`);
    });
    const emitted: Array<{ task: SimTask; replaced?: SimTask }> = [];
    const sent = await pump(c, { ratePerSec: 1000, count: 20, kind: 'replace', onEmit: (task, _at, replaced) => emitted.push({ task, replaced }) }).done;

    expect(sent).toBe(20);
    for (const app of c.apps.values()) expect(app.tasks.size).toBe(3);
    for (const { task, replaced } of emitted) {
      expect(replaced).toBeDefined();
      expect(task.appId).toBe(replaced!.appId);
      expect(task.id).not.toBe(replaced!.id);
      // Each replacement's address is one no task had before it.
      expect(everSeen.has(address(task))).toBe(false);
      everSeen.add(address(task));
      // What a consumer sees: the old task killed, the new one staged then running.
      expect(statuses).toEqual(expect.arrayContaining([`${replaced!.id} TASK_KILLED`, `${task.id} TASK_STAGING`, `${task.id} TASK_RUNNING`]));
      expect(statuses.indexOf(`${replaced!.id} TASK_KILLED`)).toBeLessThan(statuses.indexOf(`${task.id} TASK_RUNNING`));
    }
    const live = new Set(c.allTasks().map((t) => t.id));
    expect(emitted.filter((e) => live.has(e.replaced!.id))).toEqual([]);
    expect(c.allTasks().every((t) => t.state === 'TASK_RUNNING')).toBe(true);
  });
});
