import type { FastifyInstance } from 'fastify';
import { createLeadership, type Leadership } from '../../src/cluster';
import { registerClusterRoutes } from '../../src/http/routes/cluster';
import { silentLogger } from '../../src/log';
import { testApp } from '../support/app';
import { describeEachEngine } from '../support/db';
import { waitFor } from '../support/wait';

describeEachEngine('GET /v1/cluster', (get, engine) => {
  let app: FastifyInstance;
  const started: Leadership[] = [];
  const make = (id: string) => {
    const l = createLeadership({ engine, knex: get().knex, databaseUrl: get().url, id, logger: silentLogger, retryMs: 100, probeIntervalMs: 100 });
    l.setApiUrl(`http://127.0.0.1:80${started.length}`);
    started.push(l);
    return l;
  };
  afterAll(async () => {
    await app?.close();
    for (const l of started) await l.stop();
  });

  it('shows this replica, the recorded leader with its epoch and start time, and every replica', async () => {
    const leader = make('one');
    await leader.start();
    app = await testApp((a) => registerClusterRoutes(a, { leadership: leader, knex: get().knex }));
    const r = await app.inject({ method: 'GET', url: '/v1/cluster' });
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body.self).toMatchObject({ id: 'one', apiUrl: 'http://127.0.0.1:800', role: 'leader', epoch: leader.epoch() });
    expect(Date.parse(body.self.leaderSince)).not.toBeNaN();
    expect(body.leader).toMatchObject({ id: 'one', apiUrl: 'http://127.0.0.1:800', epoch: leader.epoch(), alive: true });
    expect(Date.parse(body.leader.acquiredAt)).toBeLessThanOrEqual(Date.now() + 1000);
    expect(body.members).toEqual([expect.objectContaining({ id: 'one', role: 'leader', epoch: leader.epoch(), alive: true })]);
    const openapi = (await app.inject({ method: 'GET', url: '/v1/openapi.json' })).json();
    expect(Object.keys(openapi.paths)).toContain('/v1/cluster');
  });

  if (engine === 'postgres') {
    it('on a standby: role standby, the leader is the other replica', async () => {
      const standby = make('two');
      await standby.start();
      const standbyApp = await testApp((a) => registerClusterRoutes(a, { leadership: standby, knex: get().knex }));
      try {
        const body = await waitFor(async () => {
          const b = (await standbyApp.inject({ method: 'GET', url: '/v1/cluster' })).json();
          return b.members.length === 2 && b;
        }, 5000);
        expect(body.self).toMatchObject({ id: 'two', role: 'standby', epoch: null, leaderSince: null });
        expect(body.leader).toMatchObject({ id: 'one', apiUrl: 'http://127.0.0.1:800' });
        expect(body.members.map((m: { id: string; role: string }) => [m.id, m.role])).toEqual([
          ['one', 'leader'],
          ['two', 'standby'],
        ]);
      } finally {
        await standbyApp.close();
      }
    });
  }
});
