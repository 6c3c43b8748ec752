/**
 * Database isolation: an app whose data PostgreSQL/PGlite refuse (a NUL byte, a lone surrogate in
 * its id or labels) must not fail the snapshot for every other app. It keeps its previous state,
 * is listed in /v1/problems with text the database accepts, and the others keep converging.
 */
import type { FastifyInstance } from 'fastify';
import type { App } from '../../src/marathon/types';
import { registerServicesRoutes, type MarathonSyncApi, type RegistryApi } from '../../src/http/routes/services';
import { safeText, writeIsolated } from '../../src/registry/isolate';
import type { StoredService, WriteSet } from '../../src/registry/store';
import type { Registry } from '../../src/registry/registry';
import { anApp, aStatus, aTask, withDomain, withTasks } from '../support/builders';
import { testApp } from '../support/app';
import { describeEachEngine } from '../support/db';
import { applyEvent, openRegistry, resetRegistryTables } from './helpers';

const NUL_ID = '/bad\u0000app';
const SURROGATE_ID = '/bad\ud800app';
const web = (id: string, domain: string, ...tasks: ReturnType<typeof aTask>[]): App => anApp({ id }, withDomain(domain), withTasks(...tasks));
/** Valid labels, but an id the database cannot store. */
const nulApp = (): App => web(NUL_ID, 'nul.berth.internal', aTask({ id: 'nul.1', host: '10.0.0.9' }));
const surrogateApp = (): App => web(SURROGATE_ID, 'sur.berth.internal', aTask({ id: 'sur.1', host: '10.0.0.8' }));
/** A label whose value lands in the problem's message and details. */
/** The ids /v1/problems must show for the three bad apps (as stored: escaped). */
const REFUSED = ['/bad\\u0000app', '/bad\\ud800app', '/labels'].sort();
// An unusable app id is caught at intake (key `invalid:<escaped id>#<hash>`) or by the registry's
// isolation (the escaped id): either way it is listed under the escaped id.
const escapedId = (appId: string): string => appId.replace(/^invalid:(.*)#[0-9a-f]+$/, '$1');
const flagged = (list: Array<{ appId: string }>): string[] => [...new Set(list.map((p) => escapedId(p.appId)))].filter((id) => REFUSED.includes(id)).sort();
const badLabelApp = (): App => anApp({ id: '/labels' }, withDomain('lbl.berth.internal', { 'berth.env': 'x\u0000y\ud800' }));

describeEachEngine('registry: database isolation per app', (db) => {
  let registry: Registry;
  let api: FastifyInstance;
  const sync: MarathonSyncApi = {
    syncNow: async () => ({ result: 'unchanged', position: 0, upserts: 0, removals: 0 }),
    status: () => ({ lastSuccessAt: null, lastError: null, consecutiveFailures: 0 }),
  };

  beforeAll(async () => {
    await resetRegistryTables(db().knex);
    ({ registry } = await openRegistry(db().knex));
    api = await testApp((a) => registerServicesRoutes(a, { registry: registry as RegistryApi, sync }));
  });
  afterAll(async () => api?.close());

  const published = (): string[] => registry.listServices().map((s) => s.appId);
  const problems = async (): Promise<Array<{ appId: string; code: string; message: string }>> => {
    const res = await api.inject({ method: 'GET', url: '/v1/problems' });
    expect(res.statusCode).toBe(200);
    return res.json().problems;
  };

  test('the snapshot succeeds for everyone else; the refused apps are listed as problems', async () => {
    const good = web('/web', 'web.berth.internal', aTask({ id: 'web.1', host: '10.0.0.1' }));
    const gone = web('/gone', 'gone.berth.internal', aTask({ id: 'gone.1', host: '10.0.0.2' }));
    const keep = web('/keep', 'keep.berth.internal', aTask({ id: 'keep.1', host: '10.0.0.3' }));
    const out = await registry.applySnapshot([good, gone, keep, nulApp(), surrogateApp(), badLabelApp()]);
    expect(out.result).toBe('applied');
    expect(registry.status().loaded).toBe(true);
    expect(published()).toEqual(['/gone', '/keep', '/web']);

    // Listed under ids the database could store (whichever rule caught them: intake or registry).
    const listed = await problems();
    expect(flagged(listed)).toEqual(REFUSED);
    for (const p of listed) expect([p.appId, p.message].map(safeText)).toEqual([p.appId, p.message]);
    // What a restart would serve: the problems are in the database, not just in memory.
    const reopened = (await openRegistry(db().knex)).registry;
    expect(flagged(reopened.listProblems())).toEqual(REFUSED);
    expect(reopened.listServices().map((s) => s.appId)).toEqual(['/gone', '/keep', '/web']);
  });

  test('other apps keep converging: a new app is served, a deleted one disappears, events still apply', async () => {
    const good = web('/web', 'web.berth.internal', aTask({ id: 'web.1', host: '10.0.0.1' }));
    const keep = web('/keep', 'keep.berth.internal', aTask({ id: 'keep.1', host: '10.0.0.3' }));
    const fresh = web('/new', 'new.berth.internal', aTask({ id: 'new.1', host: '10.0.0.4' }));
    const out = await registry.applySnapshot([good, keep, fresh, nulApp(), surrogateApp(), badLabelApp()]);
    expect(out.result).toBe('applied');
    expect(published()).toEqual(['/keep', '/new', '/web']);
    // A batch of task events that names a refused app too: the others are written.
    await Promise.all([
      applyEvent(registry, aStatus('/web', 'web.2', 'TASK_RUNNING', { host: '10.0.0.5' })),
      applyEvent(registry, aStatus(NUL_ID, 'nul.2', 'TASK_RUNNING', { host: '10.0.0.6' })),
    ]);
    expect(registry.findService('default', 'web.berth.internal')?.endpoints.map((e) => e.taskId)).toEqual(['web.1', 'web.2']);
    expect(flagged(await problems())).toEqual(REFUSED);
  });

  test('a refused app that is fixed or gone loses its problem', async () => {
    const good = web('/web', 'web.berth.internal', aTask({ id: 'web.1', host: '10.0.0.1' }));
    const keep = web('/keep', 'keep.berth.internal', aTask({ id: 'keep.1', host: '10.0.0.3' }));
    const fixed = anApp({ id: '/labels' }, withDomain('lbl.berth.internal'));
    expect((await registry.applySnapshot([good, keep, fixed])).result).toBe('applied');
    expect(published()).toEqual(['/keep', '/labels', '/web']);
    expect(flagged(await problems())).toEqual([]);
    expect(Number((await db().knex('registry_problems').count({ n: '*' }))[0].n)).toBe(0);
  });
});

describe('safeText', () => {
  test.each([
    ['plain', 'plain'],
    ['a\u0000b', 'a\\u0000b'],
    ['lone \ud800 high', 'lone \\ud800 high'],
    ['lone \udc00 low', 'lone \\udc00 low'],
    ['pair \ud83d\ude00 kept', 'pair \ud83d\ude00 kept'],
    ['end \ud83d', 'end \\ud83d'],
  ])('%j → %j', (input, want) => expect(safeText(input)).toBe(want));
});

describe('writeIsolated', () => {
  const upsert = (appId: string): StoredService => ({ service: { appId } }) as unknown as StoredService;
  const set = (ids: string[], markLoaded = false): WriteSet => ({ upserts: ids.map(upsert), removals: [], raise: [], clear: [], markLoaded });
  /** A database that refuses any write naming one of `bad` with a data error. */
  const db = (bad: string[], err: (code: string) => Error = (code) => Object.assign(new Error('refused'), { code })) => {
    const calls: string[][] = [];
    let position = 0;
    const write = async (w: WriteSet): Promise<number | null> => {
      const ids = w.upserts.map((u) => u.service.appId);
      calls.push(ids);
      if (ids.some((id) => bad.includes(id))) throw err('22P05');
      return ++position;
    };
    return {
      calls,
      write,
      written: () =>
        calls
          .filter((c) => !c.some((id) => bad.includes(id)))
          .flat()
          .sort(),
    };
  };

  test('the whole set in one write when the database accepts it', async () => {
    const d = db([]);
    expect(await writeIsolated(set(['/a', '/b', '/c']), d.write)).toEqual({ position: 1, failed: new Map() });
    expect(d.calls).toHaveLength(1);
  });

  test('one refused app among 64: every other app is written, in few extra writes', async () => {
    const ids = Array.from({ length: 64 }, (_, i) => `/app-${String(i).padStart(2, '0')}`);
    const d = db(['/app-17']);
    const out = await writeIsolated(set(ids, true), d.write);
    expect([...out.failed.keys()]).toEqual(['/app-17']);
    expect(d.written()).toEqual(ids.filter((id) => id !== '/app-17'));
    expect(d.calls.length).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(65)) + 1);
  });

  test('errors that are not about data propagate (connection lost, fence refused)', async () => {
    const d = db(['/a'], (code) => Object.assign(new Error('connection terminated'), { code: code.replace('22', '08') }));
    await expect(writeIsolated(set(['/a', '/b']), d.write)).rejects.toThrow('connection terminated');
    expect(d.calls).toHaveLength(1);
  });
});
