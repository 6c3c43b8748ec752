/**
 * A standby follows the leader through the journal: after any sequence of changes its view and its
 * DNS answers (patched per changed app) equal what a full reload from the database gives, without
 * full reloads; a journal pruned past it costs exactly one, named; a write landing after a deposed
 * leader's last rows leaves the new leader with those rows applied.
 */
import type { Registry as PromRegistry } from 'prom-client';
import { buildIndex, IndexBuilder, type DnsIndex, type IndexOptions } from '../../src/dns/build';
import type { App } from '../../src/marathon/types';
import type { Problem } from '../../src/model/types';
import type { Registry } from '../../src/registry/registry';
import { anApp, aStatus, aTask, nextUuid, safeId, withLabels } from '../support/builders';
import { describeEachEngine } from '../support/db';
import { prng } from '../support/prng';
import { dump, run } from '../dns/dump';
import { applyEvent, openRegistry, resetRegistryTables } from './helpers';

const DNS: IndexOptions = {
  zones: ['berth.internal'],
  reverseNetworks: ['10.0.0.0/16'],
  ttl: 10,
  defaultEnv: 'default',
  environments: { qa: { clients: [], proxyAddresses: ['10.200.0.2'] } },
  nsAddresses: ['10.9.9.9'],
};

/** A standby: its registry and a DNS index that follows it only by patches (as the DNS reloader does). */
class Standby {
  private readonly builder = new IndexBuilder(DNS);
  index: DnsIndex;
  /** Times the DNS side could not patch and needed a full build. */
  dnsBuilds = 0;
  private now = 1_000_000;

  constructor(
    readonly registry: Registry,
    readonly prom: PromRegistry,
  ) {
    const snap = registry.current();
    this.index = run(this.builder.build(snap.services, { loaded: snap.loaded, position: snap.position, serial: 1 }));
  }

  async follow(): Promise<void> {
    await this.registry.refresh();
    const changes = await this.registry.changesSince(this.index.position);
    this.now += 1500; // every patch may raise the serial: compare against a build at the same serial
    if (changes) {
      this.index = run(this.builder.patch(changes.changed, { loaded: changes.loaded, position: changes.position, now: this.now }));
    } else {
      this.dnsBuilds++;
      const snap = this.registry.current();
      this.index = run(this.builder.build(snap.services, { loaded: snap.loaded, position: snap.position, serial: this.index.serial + 1 }));
    }
  }

  /** Full reloads by reason, from the standby's metrics. */
  async reloads(): Promise<Record<string, number>> {
    const m = await this.prom.getSingleMetric('berth_registry_follower_full_reloads_total')!.get();
    return Object.fromEntries(m.values.filter((v) => v.value > 0).map((v) => [String(v.labels.reason), v.value]));
  }

  async applied(): Promise<number> {
    return (await this.prom.getSingleMetric('berth_registry_follower_applied_entries_total')!.get()).values[0]?.value ?? 0;
  }
}

async function openStandby(knex: Parameters<typeof openRegistry>[0], over: Parameters<typeof openRegistry>[1] = {}): Promise<Standby> {
  const { registry, prom } = await openRegistry(knex, over);
  return new Standby(registry, prom);
}

/**
 * The standby equals a registry freshly loaded from the database, in its view and in every DNS answer
 * (and in the app records it would plan from, unless it wrote itself: a writer also knows the apps
 * Marathon has that publish nothing).
 */
async function expectSameAsFullReload(knex: Parameters<typeof openRegistry>[0], s: Standby, step: string, wrote = false): Promise<void> {
  const fresh = (await openRegistry(knex)).registry;
  const snap = fresh.current();
  expect({ step, ...s.registry.current() }).toEqual({ step, ...snap });
  expect({ step, problems: s.registry.listProblems() }).toEqual({ step, problems: fresh.listProblems() });
  if (!wrote) expect({ step, records: [...s.registry.appRecords()].sort() }).toEqual({ step, records: [...fresh.appRecords()].sort() });
  const full = buildIndex(snap.services, DNS, { loaded: snap.loaded, position: snap.position, serial: s.index.serial });
  expect({ step, ...dump(s.index) }).toEqual({ step, ...dump(full) });
}

/** Marathon as the leader sees it, changed at random: publish, scale, tasks started and killed, labels (fixed IPs among them), removals. */
class RandomMarathon {
  readonly apps = new Map<string, App>();
  private n = 0;

  constructor(private readonly rnd: () => number) {}

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rnd() * xs.length)];
  }

  labels(): Record<string, string> {
    const r = this.rnd();
    const domain = this.pick(['a', 'b', 'c', 'shared', 'd.sub']);
    const labels: Record<string, string> = { 'berth.domain': `${domain}${Math.floor(this.rnd() * 6)}.berth.internal` };
    if (r < 0.15) labels['berth.env'] = 'qa';
    else if (r < 0.2) labels['berth.env'] = 'Not An Env'; // a label problem
    if (this.rnd() < 0.15) labels['berth.dns'] = this.pick(['proxy', 'none', 'sideways']);
    if (this.rnd() < 0.15) {
      labels['berth.port.admin.domain'] = `admin${Math.floor(this.rnd() * 4)}.berth.internal`;
    }
    // Fixed IPs (IPAM allocations are not journaled; the addresses apps ask for are, with their specs).
    if (this.rnd() < 0.1) labels['berth.ip'] = this.pick(['10.0.9.1', '10.0.9.2', 'fd00::9', 'not-an-ip']);
    return labels;
  }

  task(appId: string): ReturnType<typeof aTask> {
    const host = `10.0.${Math.floor(this.rnd() * 4)}.${1 + Math.floor(this.rnd() * 200)}`;
    return aTask({ id: `${safeId(appId)}.${nextUuid()}`, host, ports: [31000 + Math.floor(this.rnd() * 1000), 32000] });
  }

  publish(): App {
    const id = `/app${this.n++}`;
    const app = anApp({ id }, withLabels(this.labels()));
    app.portDefinitions = [
      { port: 8080, name: 'http', protocol: 'tcp' },
      { port: 9090, name: 'admin', protocol: 'tcp' },
    ];
    app.tasks = Array.from({ length: Math.floor(this.rnd() * 4) }, () => this.task(id));
    this.apps.set(id, app);
    return app;
  }

  any(): App | undefined {
    return this.apps.size ? this.pick([...this.apps.values()]) : undefined;
  }
}

/** One random leader change; returns its name for failure messages. */
async function randomChange(leader: Registry, m: RandomMarathon, rnd: () => number): Promise<string> {
  const r = rnd();
  const app = m.any();
  if (!app || r < 0.15) {
    const a = m.publish();
    await leader.applyApp(a.id, a);
    return `publish ${a.id}`;
  }
  if (r < 0.3) {
    // scale: a snapshot of everything with this app's task count changed
    const n = Math.floor(rnd() * 5);
    app.tasks = Array.from({ length: n }, (_, i) => app.tasks?.[i] ?? m.task(app.id));
    await leader.applySnapshot([...m.apps.values()], { force: true });
    return `scale ${app.id} to ${n}`;
  }
  if (r < 0.45) {
    const t = m.task(app.id);
    app.tasks = [...(app.tasks ?? []), t];
    await applyEvent(leader, aStatus(app.id, t.id, 'TASK_RUNNING', { host: t.host, ports: t.ports }));
    await leader.idle();
    return `task started ${t.id}`;
  }
  if (r < 0.6 && app.tasks?.length) {
    const t = m.pick(app.tasks);
    app.tasks = app.tasks.filter((x) => x !== t);
    await applyEvent(leader, aStatus(app.id, t.id, m.pick(['TASK_KILLED', 'TASK_FAILED', 'TASK_LOST'] as const)));
    await leader.idle();
    return `task ended ${t.id}`;
  }
  if (r < 0.75) {
    app.labels = m.labels();
    app.version = new Date(Date.parse('2026-01-01T00:00:00Z') + Math.floor(rnd() * 1e9)).toISOString();
    await leader.applyApp(app.id, app);
    return `labels of ${app.id}`;
  }
  if (r < 0.85) {
    m.apps.delete(app.id);
    if (rnd() < 0.5) await leader.applyApp(app.id, null, { terminated: true });
    else await leader.applySnapshot([...m.apps.values()], { force: true });
    return `removed ${app.id}`;
  }
  const problems: Problem[] = [...m.apps.keys()]
    .filter(() => rnd() < 0.2)
    .map((appId) => ({ code: 'NGINX_REJECTED', appId, env: 'default', message: `nginx -t failed ${Math.floor(rnd() * 3)}` }));
  await leader.setProblems('nginx', problems);
  return `nginx problems on ${problems.length} apps`;
}

const SEEDS = [1, 7, 42, 2026, 31337];

describeEachEngine('standby follows the journal', (db) => {
  beforeEach(async () => resetRegistryTables(db().knex));

  test.each(SEEDS)('seed %i: after random changes the view and DNS answers equal a full reload, with no full reload', async (seed) => {
    const rnd = prng(seed);
    const knex = db().knex;
    const leader = (await openRegistry(knex, { eventBatchMs: 0 })).registry;
    const m = new RandomMarathon(rnd);
    for (let i = 0; i < 6; i++) m.publish();
    await leader.applySnapshot([...m.apps.values()]);
    const standby = await openStandby(knex);
    const steps: string[] = [];
    for (let i = 0; i < 60; i++) {
      steps.push(await randomChange(leader, m, rnd));
      // Sometimes several writes pile up before the standby reads them.
      if (rnd() < 0.5) {
        await standby.follow();
        await expectSameAsFullReload(knex, standby, `seed ${seed} step ${i}: ${steps.join(' · ')}`);
        steps.length = 0;
      }
    }
    await standby.follow();
    await expectSameAsFullReload(knex, standby, `seed ${seed} end`);
    expect(standby.registry.current().services).toEqual(leader.current().services);
    expect(standby.registry.listProblems()).toEqual(leader.listProblems());
    // Replaying is harmless: nothing new, nothing changes.
    const before = standby.registry.current();
    await standby.follow();
    expect(standby.registry.current()).toBe(before);
    expect(await standby.reloads()).toEqual({ start: 1 });
    expect(standby.dnsBuilds).toBe(0);
    expect(await standby.applied()).toBeGreaterThan(0);
  });

  test('a steady stream of task changes costs no full reload and no DNS rebuild', async () => {
    const knex = db().knex;
    const leader = (await openRegistry(knex, { eventBatchMs: 0 })).registry;
    const m = new RandomMarathon(prng(5));
    for (let i = 0; i < 20; i++) m.publish();
    await leader.applySnapshot([...m.apps.values()]);
    const standby = await openStandby(knex);
    for (let i = 0; i < 150; i++) {
      const app = m.pick([...m.apps.values()]);
      const t = m.task(app.id);
      await applyEvent(leader, aStatus(app.id, t.id, i % 2 ? 'TASK_KILLED' : 'TASK_RUNNING', { host: t.host, ports: t.ports }));
      await leader.idle();
      if (i % 3 === 0) await standby.follow();
    }
    await standby.follow();
    await expectSameAsFullReload(knex, standby, 'steady stream');
    expect(await standby.reloads()).toEqual({ start: 1 });
    expect(standby.dnsBuilds).toBe(0);
  });

  test('a standby behind the journal retention reloads once, with reason retention, then follows by deltas again', async () => {
    const knex = db().knex;
    const leader = (await openRegistry(knex, { eventBatchMs: 0 })).registry;
    const m = new RandomMarathon(prng(9));
    for (let i = 0; i < 5; i++) m.publish();
    await leader.applySnapshot([...m.apps.values()]);
    const standby = await openStandby(knex);
    const behind = await standby.registry.position();
    for (let i = 0; i < 4; i++) {
      const a = m.publish();
      await leader.applyApp(a.id, a);
    }
    // What the leader's pruning does: the oldest rows go, here every row the standby still needs.
    await knex('registry_journal')
      .where('position', '<=', behind + 1)
      .del();
    await standby.follow();
    await expectSameAsFullReload(knex, standby, 'after the reload');
    expect(await standby.reloads()).toEqual({ start: 1, retention: 1 });
    for (let i = 0; i < 5; i++) {
      const a = m.publish();
      await leader.applyApp(a.id, a);
      await standby.follow();
    }
    await expectSameAsFullReload(knex, standby, 'following again');
    expect(await standby.reloads()).toEqual({ start: 1, retention: 1 });
  });

  test('a journal row the standby cannot apply means one full reload, reason unapplicable; a journal behind it, reason regressed', async () => {
    const knex = db().knex;
    const leader = (await openRegistry(knex, { eventBatchMs: 0 })).registry;
    const m = new RandomMarathon(prng(11));
    for (let i = 0; i < 3; i++) m.publish();
    await leader.applySnapshot([...m.apps.values()]);
    const standby = await openStandby(knex);
    await knex('registry_journal').insert({ op: 'upsert', app_id: null }); // an upsert without its app
    await standby.follow();
    expect(await standby.reloads()).toEqual({ start: 1, unapplicable: 1 });
    await expectSameAsFullReload(knex, standby, 'unapplicable');
    // The database was replaced by an older copy: its journal ends before the standby's position.
    await knex('registry_journal')
      .where('position', '>', (await standby.registry.position()) - 2)
      .del();
    await standby.follow();
    expect(await standby.reloads()).toEqual({ start: 1, unapplicable: 1, regressed: 1 });
  });

  test('failover: the new leader writing on a view a poll behind reads the deposed leader’s last rows first; a third replica follows both without a reload', async () => {
    const knex = db().knex;
    const leading = { a: true, b: false };
    const fence = (who: 'a' | 'b') => async () => {
      if (!leading[who]) throw new Error(`fenced: ${who} is not the leader`);
    };
    const a = (await openRegistry(knex, { eventBatchMs: 0, fence: fence('a') })).registry;
    const m = new RandomMarathon(prng(13));
    for (let i = 0; i < 8; i++) m.publish();
    await a.applySnapshot([...m.apps.values()]);
    const b = await openStandby(knex, { eventBatchMs: 0, fence: fence('b') });
    const c = await openStandby(knex);
    // a's last writes: b has not polled since it started, c read some of them.
    for (let i = 0; i < 6; i++) {
      await randomChange(a, m, prng(100 + i));
      if (i === 2) await c.follow();
    }
    leading.a = false;
    leading.b = true;
    // The deposed leader's late write is refused.
    await expect(a.applyApp('/late', anApp({ id: '/late' }, withLabels({ 'berth.domain': 'late.berth.internal' })))).rejects.toThrow('fenced');
    // The new leader's first write (its Nginx side's problems) comes before any catch-up.
    const some = [...m.apps.keys()][0];
    await b.registry.setProblems('nginx', [{ code: 'NGINX_REJECTED', appId: some, env: 'default', message: 'nginx -t failed' }]);
    await expectSameAsFullReload(knex, await openStandby(knex), 'reference');
    const fresh = (await openRegistry(knex)).registry;
    expect(b.registry.current()).toEqual(fresh.current());
    expect(b.registry.listProblems()).toEqual(fresh.listProblems());
    // The new leader converges Marathon's state on top, and serves it in DNS.
    const added = m.publish();
    added.labels = { 'berth.domain': 'added.berth.internal' };
    await b.registry.applySnapshot([...m.apps.values()], { force: true });
    expect(c.registry.findService('default', 'added.berth.internal')).toBeUndefined();
    await b.follow();
    await c.follow();
    await expectSameAsFullReload(knex, b, 'new leader b', true);
    await expectSameAsFullReload(knex, c, 'third replica c');
    expect(c.registry.findService('default', 'added.berth.internal')?.appId).toBe(added.id);
    expect(await c.reloads()).toEqual({ start: 1 });
    expect(c.dnsBuilds).toBe(0);
  });
});
