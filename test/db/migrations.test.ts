import net from 'node:net';
import pino from 'pino';
import { connectWithRetry } from '../../src/db/knex';
import { migrateLatest, pendingMigrations } from '../../src/db/migrations';
import { describeEachEngine } from '../support/db';

describeEachEngine('migrations', (get) => {
  it('are applied once and are idempotent', async () => {
    const { knex } = get();
    expect(await pendingMigrations(knex)).toEqual([]);
    expect(await migrateLatest(knex)).toEqual([]);
    const rows = await knex('berth_migrations').select('name').orderBy('name');
    expect(rows.map((r: { name: string }) => r.name)).toEqual([
      '001_ipam',
      '002_registry',
      '003_nginx_sync',
      '004_cluster',
      '005_journal_writer',
      '006_ipam_event_retention',
      '007_registry_app_index',
      '008_registry_endpoints_no_fk',
      '009_registry_journal_notify',
    ]);
  });

  it('leave registry_endpoints without a foreign key (the store keeps endpoints with their services itself)', async () => {
    const { knex } = get();
    const fks = await knex.raw(`select conname from pg_constraint where conrelid = 'registry_endpoints'::regclass and contype = 'f'`);
    expect((fks as { rows: unknown[] }).rows).toEqual([]);
  });
});

describe('connectWithRetry', () => {
  it('retries an unreachable database with backoff, logging each attempt, then gives up', async () => {
    // A port that refuses connections: bind, note the port, close.
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise((r) => srv.close(r));
    const lines: Array<{ msg: string; attempt: number }> = [];
    const logger = pino({ level: 'warn' }, { write: (s: string) => lines.push(JSON.parse(s)) });
    await expect(
      connectWithRetry({ url: `postgres://postgres@127.0.0.1:${port}/x`, dataDir: 'unused' }, logger, { attempts: 3, baseMs: 10, maxMs: 20 }),
    ).rejects.toThrow(/ECONNREFUSED/);
    expect(lines.map((l) => [l.msg, l.attempt])).toEqual([
      ['database unreachable, retrying', 1],
      ['database unreachable, retrying', 2],
    ]);
  });
});
