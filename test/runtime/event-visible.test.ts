/**
 * A whole berth against the simulator: a task event is timed from its arrival to its registry
 * commit and to the DNS index that answers it (`berth_registry_event_visible_seconds`), so an
 * operator can see where the milliseconds between Marathon and DNS go.
 */
import { metricSum } from '../../bench/lib/prom';
import { startStack, webApp, ZONE, type Stack } from '../faults/stack';
import { waitFor } from '../support/wait';

const NAME = 'berth_registry_event_visible_seconds';

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => s?.stop());

async function stage(which: 'registry' | 'dns'): Promise<{ count: number; sum: number }> {
  const text = await (await fetch(`${s.berth.url}/metrics`)).text();
  return { count: metricSum(text, `${NAME}_count`, `stage="${which}"`), sum: metricSum(text, `${NAME}_sum`, `stage="${which}"`) };
}

test('a task leaving is timed to its commit and to the DNS answer without it', async () => {
  const domain = `seen.${ZONE}`;
  await s.sim.control.deploy(webApp('seen', 2));
  await waitFor(async () => (await s.srv(domain)) === 2, 30_000);
  const before = { registry: await stage('registry'), dns: await stage('dns') };

  const [task] = s.sim.control.tasks('/faults/seen');
  s.sim.control.setTaskState(task.id, 'TASK_KILLED');
  await waitFor(async () => (await s.srv(domain)) === 1, 10_000);

  // The DNS answer already changed, so the index that has the event was swapped in: both stages
  // have counted it, and the DNS stage (measured from the same arrival) is the later one.
  const registry = await stage('registry');
  const dns = await stage('dns');
  expect(registry.count).toBeGreaterThan(before.registry.count);
  expect(dns.count).toBeGreaterThan(before.dns.count);
  const last = (now: { count: number; sum: number }, was: { count: number; sum: number }) => (now.sum - was.sum) / (now.count - was.count);
  expect(last(dns, before.dns)).toBeGreaterThanOrEqual(last(registry, before.registry));
  expect(last(dns, before.dns)).toBeLessThan(10);
});
