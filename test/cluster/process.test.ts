import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Database } from '../../src/db/knex';
import type { PgLeadership } from '../../src/cluster/pg-leadership';
import { waitFor } from '../support/wait';
import { fastLeadership, nextEvent, pgDatabase } from './helpers';

describe('Leadership across processes', () => {
  let db: Database;
  let url: string;
  let drop: () => Promise<void>;
  let child: ChildProcess | undefined;
  let standby: PgLeadership | undefined;

  beforeAll(async () => {
    ({ db, url, drop } = await pgDatabase());
  }, 60000);
  afterAll(async () => {
    child?.kill('SIGKILL');
    await standby?.stop();
    await drop();
  });

  it('a SIGKILLed leader process is replaced within 2 s, in a higher epoch', async () => {
    const fixture = path.join(__dirname, 'fixtures/leader-process.ts');
    child = spawn(process.execPath, ['--import', pathToFileURL(require.resolve('tsx')).href, fixture, url, 'child'], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    const childEpoch = await waitFor(
      () => /"elected":(\d+)/.exec(out)?.[1],
      30000,
      () => `child output: ${out}`,
    ).then(Number);

    standby = fastLeadership(url, 'survivor');
    await standby.start();
    // The child holds the lock: the standby has tried and failed (its heartbeat says so).
    await waitFor(async () => (await db.knex('cluster_member').where({ id: 'survivor', role: 'standby' }).first()) !== undefined, 5000);
    expect(standby.isLeader()).toBe(false);

    const elected = nextEvent(standby, 'elected', 5000);
    const t0 = Date.now();
    child.kill('SIGKILL');
    const [epoch] = await elected;
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(epoch).toBe(childEpoch + 1);
    const history = await db.knex('cluster_election').orderBy('epoch').select('epoch', 'holder_id');
    expect(history.slice(-2)).toEqual([
      { epoch: childEpoch, holder_id: 'child' },
      { epoch, holder_id: 'survivor' },
    ]);
  }, 60000);
});
