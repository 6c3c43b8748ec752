/**
 * A whole berth against the Marathon simulator with a thousand apps: the first snapshot's write is
 * rendered in a worker thread while the database commits it, the first Nginx run takes all of it,
 * and berth is ready with every file written.
 */
import pino from 'pino';
import { ANNOUNCE_MIN } from '../../src/registry/registry';
import { waitFor } from '../support/wait';
import { startStack, type Stack } from '../faults/stack';

jest.setTimeout(120_000);

let s: Stack | undefined;
afterEach(async () => s?.stop());

it('renders the first snapshot ahead and uses it in the first Nginx run', async () => {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (x: string) => void lines.push(JSON.parse(x) as Record<string, unknown>) });
  s = await startStack({
    logger,
    urls: (sim) => {
      sim.control.seed({ apps: ANNOUNCE_MIN, tasksPerApp: 1 });
      return [sim.url];
    },
  });
  const stack = s;
  await waitFor(
    async () => (await stack.api('GET', '/readyz')).status === 200,
    60_000,
    () => 'waiting for /readyz 200',
  );
  expect(stack.files()).toHaveLength(ANNOUNCE_MIN);
  expect(lines.find((l) => l.msg === 'nginx: services rendered ahead in a worker thread')).toMatchObject({ services: ANNOUNCE_MIN, seeded: ANNOUNCE_MIN });
  expect(lines.filter((l) => String(l.msg).includes('rendering ahead'))).toEqual([]);
});
