import { Registry as PromRegistry } from 'prom-client';
import { classifyEvent, isEndpointChange } from '../../src/model/events';
import { createRegistryMetrics } from '../../src/registry/metrics';
import { EventVisibility } from '../../src/registry/visibility';
import { anApp, aStatus, aTask, withDomain, withTasks } from '../support/builders';
import { describeEachEngine } from '../support/db';
import { openRegistry, resetRegistryTables } from './helpers';

/** Count and sum (seconds) of one stage of `berth_registry_event_visible_seconds`. */
async function stage(prom: PromRegistry, name: 'registry' | 'dns'): Promise<{ count: number; sum: number }> {
  const [m] = (await prom.getMetricsAsJSON()).filter((x) => x.name === 'berth_registry_event_visible_seconds');
  const values = (m?.values ?? []) as Array<{ metricName?: string; labels: Record<string, unknown>; value: number }>;
  const pick = (suffix: string) => values.find((v) => v.metricName === `berth_registry_event_visible_seconds_${suffix}` && v.labels.stage === name)?.value ?? 0;
  return { count: pick('count'), sum: pick('sum') };
}

function setup() {
  const prom = new PromRegistry();
  const metrics = createRegistryMetrics(prom);
  let now = 1_000;
  const v = new EventVisibility(metrics.eventVisible, () => now);
  return { prom, v, advance: (ms: number) => (now += ms) };
}

describe('event → visible latency (berth_registry_event_visible_seconds)', () => {
  test('each event is timed from its arrival to the commit, then to the DNS index that has it', async () => {
    const { prom, v, advance } = setup();
    v.committed(7, [1_000 - 30, 1_000 - 10]); // two events, 30 and 10 ms old at the commit
    expect(await stage(prom, 'registry')).toEqual({ count: 2, sum: expect.closeTo(0.04, 6) });
    advance(5);
    v.reached('dns', 6); // an older index: nothing of position 7 is visible yet
    expect((await stage(prom, 'dns')).count).toBe(0);
    v.reached('dns', 7);
    expect(await stage(prom, 'dns')).toEqual({ count: 2, sum: expect.closeTo(0.05, 6) });
    v.reached('dns', 9); // counted once: the entry is gone
    expect((await stage(prom, 'dns')).count).toBe(2);
  });

  test('an index past several commits makes them all visible at once', async () => {
    const { prom, v, advance } = setup();
    v.committed(3, [1_000]);
    advance(20);
    v.committed(4, [1_020]);
    advance(10);
    v.reached('dns', 4);
    expect(await stage(prom, 'dns')).toEqual({ count: 2, sum: expect.closeTo(0.03 + 0.01, 6) });
  });

  test('a consumer that never reports keeps a bounded list: the oldest commits stop being sampled', async () => {
    const { prom, v } = setup();
    for (let p = 1; p <= 10_005; p++) v.committed(p, [1_000]);
    v.reached('dns', 10_005);
    expect((await stage(prom, 'dns')).count).toBe(10_000);
  });
});

describeEachEngine('the registry times the events it writes', (db) => {
  beforeEach(async () => resetRegistryTables(db().knex));

  test('an event is sampled at its commit and again once a consumer reports that position', async () => {
    const { registry, prom } = await openRegistry(db().knex);
    await registry.applySnapshot([anApp({ id: '/web' }, withDomain('web.berth.internal'), withTasks(aTask({ id: 'web.1', host: '10.0.0.1' })))]);
    const before = registry.current().position;
    const c = classifyEvent(aStatus('/web', 'web.2', 'TASK_RUNNING', { host: '10.0.0.2', ports: [31002] }));
    if (!isEndpointChange(c)) throw new Error('expected a task change');
    c.receivedAt = performance.now();
    await registry.applyChange(c);
    const after = registry.current().position;
    expect(after).toBeGreaterThan(before);
    expect((await stage(prom, 'registry')).count).toBe(1);
    registry.reached('dns', before);
    expect((await stage(prom, 'dns')).count).toBe(0);
    registry.reached('dns', after);
    expect((await stage(prom, 'dns')).count).toBe(1);
  });
});

describeEachEngine('the registry times its writes (berth_registry_write_seconds)', (db) => {
  beforeEach(async () => resetRegistryTables(db().knex));

  test('each committed write is one sample of its kind; a write that changes nothing is none', async () => {
    const { registry, prom } = await openRegistry(db().knex);
    const writes = async (kind: string) => {
      const [m] = (await prom.getMetricsAsJSON()).filter((x) => x.name === 'berth_registry_write_seconds');
      const values = (m?.values ?? []) as Array<{ metricName?: string; labels: Record<string, unknown>; value: number }>;
      const pick = (suffix: string) => values.find((v) => v.metricName === `berth_registry_write_seconds_${suffix}` && v.labels.kind === kind)?.value ?? 0;
      return { count: pick('count'), sum: pick('sum') };
    };
    const web = [anApp({ id: '/web' }, withDomain('web.berth.internal'), withTasks(aTask({ id: 'web.1', host: '10.0.0.1' })))];
    await registry.applySnapshot(web);
    expect((await writes('snapshot')).count).toBe(1);
    await registry.applySnapshot(web); // unchanged: nothing is written
    expect((await writes('snapshot')).count).toBe(1);
    const c = classifyEvent(aStatus('/web', 'web.2', 'TASK_RUNNING', { host: '10.0.0.2', ports: [31002] }));
    if (!isEndpointChange(c)) throw new Error('expected a task change');
    await registry.applyChange(c);
    const events = await writes('events');
    expect(events.count).toBe(1);
    expect(events.sum).toBeGreaterThan(0);
  });
});
