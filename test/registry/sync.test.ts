import { describeEachEngine } from '../support/db';
import type { App, MarathonEvent } from '../../src/marathon/types';
import { silentLogger } from '../../src/log';
import type { ClaimOutcome, FixedIpUse, IpamReconcilePort, ReconcileOutcome } from '../../src/registry/ipam-port';
import { MarathonSync, type MarathonAppsSource, type MarathonEventSource } from '../../src/registry/sync';
import { anApp, aStatus, aTask, withDockerParam, withDomain, withTasks, V1 } from '../support/builders';
import { eventually, ManualClock, openRegistry, resetRegistryTables } from './helpers';

/** A Marathon whose answers tests set directly. */
class FakeMarathon implements MarathonAppsSource {
  apps: App[] = [];
  fail: Error | null = null;
  fetches = 0;
  appFetches: string[] = [];
  async getApps(): Promise<App[]> {
    this.fetches++;
    if (this.fail) throw this.fail;
    return structuredClone(this.apps);
  }
  async getApp(id: string): Promise<App | null> {
    this.appFetches.push(id);
    if (this.fail) throw this.fail;
    return structuredClone(this.apps.find((a) => a.id === id) ?? null);
  }
}

class FakeStream implements MarathonEventSource {
  private h: { onEvent(e: MarathonEvent): void; onConnected(): void } | null = null;
  subscribe(h: { onEvent(e: MarathonEvent): void; onConnected(): void }): () => void {
    this.h = h;
    return () => (this.h = null);
  }
  connect(): void {
    this.h?.onConnected();
  }
  publish(e: MarathonEvent): void {
    this.h?.onEvent(e);
  }
}

class FakeIpam implements IpamReconcilePort {
  claims: FixedIpUse[][] = [];
  reconciles: Array<{ pool: string; live: string[]; at: Date }> = [];
  conflictFor: string | null = null;
  async pools(): Promise<string[]> {
    return ['blue'];
  }
  async claim(uses: FixedIpUse[]): Promise<ClaimOutcome[]> {
    this.claims.push(uses);
    return uses.map((u) => (u.appId === this.conflictFor ? { ...u, result: 'conflict', owner: '/other', pool: 'blue' } : { ...u, result: 'existing' }));
  }
  async reconcile(pool: string, live: string[], at: Date): Promise<ReconcileOutcome> {
    this.reconciles.push({ pool, live, at });
    return { marked: 0, cleared: 0, released: 0 };
  }
}

const web = (...tasks: ReturnType<typeof aTask>[]): App => anApp({ id: '/web' }, withDomain('web.berth.internal'), withTasks(...tasks));

describeEachEngine('marathon sync', (db) => {
  beforeEach(async () => resetRegistryTables(db().knex));

  async function setup(withStream = true) {
    const { registry } = await openRegistry(db().knex);
    const marathon = new FakeMarathon();
    const stream = new FakeStream();
    const ipam = new FakeIpam();
    const clock = new ManualClock();
    const sync = new MarathonSync({
      registry,
      apps: marathon,
      events: withStream ? stream : undefined,
      ipam,
      logger: silentLogger,
      clock,
      resyncIntervalMs: 300_000,
      refetchDelayMs: 50,
    });
    return { registry, marathon, stream, ipam, clock, sync };
  }

  test('a snapshot on every connect, then IPAM gets the fixed IPs and the live app ids', async () => {
    const { registry, marathon, stream, ipam, sync } = await setup();
    marathon.apps = [web(aTask({ id: 'web.1' })), anApp({ id: '/db' }, withDockerParam('ip', '10.5.0.9'), withTasks(aTask({ id: 'db.1' })))];
    sync.start();
    stream.connect();
    await eventually(() => sync.hasSynced() && ipam.reconciles.length === 1);
    expect(registry.listServices().map((s) => s.appId)).toEqual(['/web']);
    expect(ipam.claims[0]).toEqual([{ appId: '/db', ip: '10.5.0.9', running: true }]);
    expect(ipam.reconciles[0]).toMatchObject({ pool: 'blue', live: ['/web', '/db'] });
    stream.connect();
    await eventually(() => marathon.fetches === 2);
    await sync.stop();
  });

  test('without a connect within the delay, a snapshot is taken anyway; then periodically', async () => {
    const { marathon, clock, sync } = await setup();
    marathon.apps = [web(aTask({ id: 'web.1' }))];
    sync.start();
    expect(marathon.fetches).toBe(0);
    clock.advance(2000);
    await eventually(() => sync.hasSynced());
    clock.advance(300_000);
    await eventually(() => marathon.fetches === 2);
    await sync.stop();
  });

  test('an empty or failed answer never reaches IPAM and never empties the registry', async () => {
    const { registry, marathon, ipam, sync } = await setup(false);
    marathon.apps = [web(aTask({ id: 'web.1' }))];
    expect(await sync.syncNow()).toMatchObject({ result: 'applied' });
    expect(ipam.reconciles).toHaveLength(1);
    marathon.apps = [];
    expect(await sync.syncNow()).toMatchObject({ result: 'held', reason: 'empty' });
    marathon.fail = new Error('connect ECONNREFUSED');
    expect(await sync.syncNow()).toMatchObject({ result: 'failed', error: 'connect ECONNREFUSED' });
    expect(ipam.reconciles).toHaveLength(1);
    expect(registry.listServices()).toHaveLength(1);
    expect(sync.status()).toMatchObject({ consecutiveFailures: 1, lastError: 'connect ECONNREFUSED' });
    await sync.stop();
  });

  test('a forced sync applies what the guard would hold', async () => {
    const { registry, marathon, sync } = await setup(false);
    marathon.apps = [web(aTask({ id: 'web.1' }))];
    await sync.syncNow();
    marathon.apps = [anApp({ id: '/other' })];
    expect(await sync.syncNow()).toMatchObject({ result: 'held' });
    expect(await sync.syncNow({ force: true })).toMatchObject({ result: 'applied', removals: 1 });
    expect(registry.listServices()).toEqual([]);
    await sync.stop();
  });

  test('events: status applied in place, unknown apps refetched once (coalesced)', async () => {
    const { registry, marathon, stream, clock, sync } = await setup();
    marathon.apps = [web(aTask({ id: 'web.1' }))];
    sync.start();
    stream.connect();
    await eventually(() => sync.hasSynced());
    stream.publish(aStatus('/web', 'web.2', 'TASK_RUNNING', { host: '10.0.0.2' }));
    await eventually(() => registry.findService('default', 'web.berth.internal')?.endpoints.length === 2);

    marathon.apps.push(anApp({ id: '/api' }, withDomain('api.berth.internal'), withTasks(aTask({ id: 'api.1' }))));
    stream.publish(aStatus('/api', 'api.1', 'TASK_RUNNING'));
    stream.publish({ eventType: 'api_post_event', clientIp: '1.1.1.1', uri: '/v2/apps/api', appDefinition: anApp({ id: '/api' }), timestamp: V1 });
    await registry.idle();
    clock.advance(50);
    await eventually(() => registry.findService('default', 'api.berth.internal') !== undefined);
    expect(marathon.appFetches).toEqual(['/api']);
    expect(marathon.fetches).toBe(1);
    await sync.stop();
  });

  test('app_terminated_event removes the app after its refetch answers 404', async () => {
    const { registry, marathon, stream, clock, sync } = await setup();
    marathon.apps = [web(aTask({ id: 'web.1' })), anApp({ id: '/api' }, withDomain('api.berth.internal'), withTasks(aTask({ id: 'api.1' })))];
    sync.start();
    stream.connect();
    await eventually(() => sync.hasSynced());
    marathon.apps = marathon.apps.filter((a) => a.id !== '/api');
    stream.publish({ eventType: 'app_terminated_event', appId: '/api', timestamp: V1 });
    await registry.idle();
    clock.advance(50);
    await eventually(() => registry.findService('default', 'api.berth.internal') === undefined);
    await sync.stop();
  });

  test('an IPAM conflict becomes a problem on the app', async () => {
    const { registry, marathon, ipam, sync } = await setup(false);
    ipam.conflictFor = '/db';
    marathon.apps = [anApp({ id: '/db' }, withDomain('db.berth.internal', { 'berth.ip': '10.5.0.9' }), withTasks(aTask({ id: 'db.1' })))];
    await sync.syncNow();
    await registry.idle();
    expect(registry.listProblems()).toEqual([expect.objectContaining({ code: 'FIXED_IP_CONFLICT', appId: '/db', source: 'ipam' })]);
    await sync.stop();
  });

  test('a 404 on a refetch removes a published app only after Marathon announced its end', async () => {
    const { registry, marathon, stream, clock, sync } = await setup();
    const api = anApp({ id: '/shop/api' }, withDomain('api.berth.internal'), withTasks(aTask({ id: 'api.1' })));
    marathon.apps = [web(aTask({ id: 'web.1' })), api];
    sync.start();
    stream.connect();
    await eventually(() => sync.hasSynced());
    const published = () => registry.listServices().map((s) => s.appId);
    const refetched = async (n: number) => {
      await registry.idle();
      clock.advance(50);
      await eventually(() => marathon.appFetches.length >= n);
      await sync.idle();
    };
    // Marathon forgets /shop/api and says only "the group changed": a 404 alone removes nothing.
    marathon.apps = [web(aTask({ id: 'web.1' }))];
    stream.publish({ eventType: 'group_change_success', groupId: '/shop', version: V1, timestamp: V1 });
    await refetched(1);
    expect(marathon.appFetches).toEqual(['/shop/api']);
    expect(published()).toEqual(['/shop/api', '/web']);
    // Marathon announces the end: the same 404 now removes it.
    stream.publish({ eventType: 'app_terminated_event', appId: '/shop/api', timestamp: V1 });
    await refetched(2);
    expect(published()).toEqual(['/web']);
    await sync.stop();
  });

  test('each event is classified once and counted by its change; unknown ones go no further', async () => {
    const { registry, metrics } = await openRegistry(db().knex);
    const marathon = new FakeMarathon();
    marathon.apps = [web(aTask({ id: 'web.1' }))];
    const stream = new FakeStream();
    const sync = new MarathonSync({ registry, apps: marathon, events: stream, logger: silentLogger, clock: new ManualClock(), resyncIntervalMs: 300_000 });
    sync.start();
    stream.connect();
    await eventually(() => sync.hasSynced());
    stream.publish(aStatus('/web', 'web.2', 'TASK_RUNNING', { host: '10.0.0.2' }));
    stream.publish({ eventType: 'brand_new_event', timestamp: V1 } as unknown as MarathonEvent);
    stream.publish({ eventType: 'app_terminated_event', appId: '/gone', timestamp: V1 });
    await registry.idle();
    const counted = Object.fromEntries((await metrics.changes.get()).values.map((v) => [v.labels.kind, v.value]));
    expect(counted).toEqual({ task: 1, ignored: 1, apps: 1 });
    expect(registry.findService('default', 'web.berth.internal')?.endpoints).toHaveLength(2);
    await sync.stop();
  });

  test('concurrent sync requests coalesce into at most one more fetch', async () => {
    const { marathon, sync } = await setup(false);
    marathon.apps = [web(aTask({ id: 'web.1' }))];
    await Promise.all([sync.syncNow(), sync.syncNow(), sync.syncNow(), sync.syncNow()]);
    expect(marathon.fetches).toBe(2);
    await sync.stop();
  });
});

describeEachEngine('marathon sync: events during a snapshot', (db) => {
  beforeEach(async () => resetRegistryTables(db().knex));

  test('events that arrive while the snapshot is fetched are applied again after it, without refetches', async () => {
    const { registry } = await openRegistry(db().knex);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const marathon = new FakeMarathon();
    marathon.apps = [web(aTask({ id: 'web.1' }))];
    const slow: MarathonAppsSource = {
      getApps: async () => {
        const apps = await marathon.getApps();
        await gate;
        return apps;
      },
      getApp: (id) => marathon.getApp(id),
    };
    const stream = new FakeStream();
    const sync = new MarathonSync({ registry, apps: slow, events: stream, logger: silentLogger, clock: new ManualClock(), resyncIntervalMs: 300_000 });
    sync.start();
    stream.connect();
    // The answer was computed before web.2 started; the event arrives while the snapshot is in flight.
    stream.publish(aStatus('/web', 'web.2', 'TASK_RUNNING', { host: '10.0.0.2' }));
    await registry.idle();
    release();
    await eventually(() => sync.hasSynced());
    await eventually(() => registry.findService('default', 'web.berth.internal')?.endpoints.length === 2);
    expect(marathon.appFetches).toEqual([]);
    await sync.stop();
  });
});

describeEachEngine('marathon sync: pods', (db) => {
  beforeEach(async () => resetRegistryTables(db().knex));

  test('status events of a pod (not an app) cause one refetch, not one per event', async () => {
    const { registry } = await openRegistry(db().knex);
    const marathon = new FakeMarathon();
    marathon.apps = [web(aTask({ id: 'web.1' }))];
    const stream = new FakeStream();
    const clock = new ManualClock();
    const sync = new MarathonSync({ registry, apps: marathon, events: stream, logger: silentLogger, clock, resyncIntervalMs: 300_000, refetchDelayMs: 10 });
    sync.start();
    stream.connect();
    await eventually(() => sync.hasSynced());
    for (let i = 0; i < 3; i++) {
      stream.publish(aStatus('/pod', `pod.instance-1.c${i}`, 'TASK_RUNNING'));
      await registry.idle();
      clock.advance(10);
      await eventually(() => marathon.appFetches.length >= 1);
      await registry.idle();
    }
    expect(marathon.appFetches).toEqual(['/pod']);
    await sync.stop();
  });
});
