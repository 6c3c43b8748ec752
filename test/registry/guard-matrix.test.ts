/**
 * The removal guard holds in every order. Every ordered pair of Marathon answers from {good,
 * failed (5xx), garbage JSON, empty, partial, reconnect, leader change} is driven in sequence, on
 * both simulator flavours, against the real client, event stream, sync, registry and DNS server.
 * After each answer DNS and the registry still serve every service; a hold is lifted only by a
 * good answer or by an operator (POST /v1/registry/release), and a release applies what was held.
 *
 * "Empty" is a Marathon that lost its state: `{"apps":[]}` for the list, 404 for every app, and a
 * group change that makes berth refetch each app (the way services once went one by one).
 */
import type { FastifyInstance } from 'fastify';
import { Registry as PromRegistry } from 'prom-client';
import { DnsProbe } from '../../bench/lib/dns-probe';
import { DnsServer } from '../../src/dns/server';
import { registerServicesRoutes, type RegistryApi } from '../../src/http/routes/services';
import { silentLogger } from '../../src/log';
import { MarathonClient } from '../../src/marathon/client';
import { EventStream } from '../../src/marathon/stream';
import { appsSourceFrom, eventSourceFrom, REGISTRY_EVENT_TYPES } from '../../src/registry/marathon-adapter';
import type { Registry } from '../../src/registry/registry';
import { MarathonSync, type MarathonAppsSource } from '../../src/registry/sync';
import { startSimulator, type Simulator } from '../../src/sim';
import { testApp } from '../support/app';
import { openTestDb, type TestDb } from '../support/db';
import { waitFor } from '../support/wait';
import { openRegistry } from './helpers';

jest.setTimeout(60_000);

const ZONE = 'berth.test';
const NAMES = ['a', 'b', 'c', 'd', 'e', 'f'];
const ALL = NAMES.map((n) => `/guard/${n}`);
/** What a partial answer still lists. */
const PARTIAL_KEEPS = ['/guard/a'];
const ANSWERS = ['good', 'failed', 'garbage', 'empty', 'partial', 'reconnect', 'leader'] as const;
type Answer = (typeof ANSWERS)[number];
/** What a hold would apply if released: every app gone, or all but the partial answer's. */
type Held = 'empty' | 'partial' | 'failed' | null;

const web = (name: string): Record<string, unknown> => ({
  id: `/guard/${name}`,
  instances: 1,
  container: { type: 'DOCKER', docker: { image: 'example/web:1' }, portMappings: [{ containerPort: 80, hostPort: 0, name: 'http' }] },
  networks: [{ mode: 'container/bridge' }],
  labels: { 'berth.domain': `${name}.${ZONE}` },
});

/** The hold after `answer`, given the hold before it: failures never replace a held snapshot, good answers clear. */
function nextHold(before: Held, answer: Answer): Held {
  if (answer === 'failed' || answer === 'garbage') return before === null || before === 'failed' ? 'failed' : before;
  if (answer === 'empty' || answer === 'partial') return answer;
  return null;
}

for (const flavour of ['1.4', '1.10'] as const) {
  describe(`removal guard, every pair of answers, Marathon ${flavour}`, () => {
    let db: TestDb;
    let nodes: [Simulator, Simulator];
    let leader: Simulator;
    let registry: Registry;
    let sync: MarathonSync;
    let stream: EventStream;
    let dns: DnsServer;
    let probe: DnsProbe;
    let api: FastifyInstance;
    let partial = false;

    beforeAll(async () => {
      db = await openTestDb('pglite');
      const first = await startSimulator({ flavour, keepaliveMs: 200, agents: ['10.0.0.1', '10.0.0.2'] });
      const second = await startSimulator({ flavour, keepaliveMs: 200, cluster: first.cluster });
      nodes = [first, second];
      leader = first;
      ({ registry } = await openRegistry(db.knex));
      const urls = nodes.map((n) => n.url);
      const real = appsSourceFrom(new MarathonClient({ urls, timeoutMs: 2000 }));
      // A partial answer: Marathon lists only some of its apps.
      const apps: MarathonAppsSource = {
        getApps: async () => (await real.getApps()).filter((a) => !partial || PARTIAL_KEEPS.includes(a.id)),
        getApp: (id) => real.getApp(id),
      };
      stream = new EventStream({ urls, eventTypes: [...REGISTRY_EVENT_TYPES], idleTimeoutMs: 2000, backoff: { initialMs: 20, maxMs: 200 } });
      sync = new MarathonSync({ registry, apps, events: eventSourceFrom(stream), logger: silentLogger, resyncIntervalMs: 600_000, refetchDelayMs: 10 });
      dns = new DnsServer(
        {
          host: '127.0.0.1',
          port: 0,
          zones: [ZONE],
          ttl: 0,
          environments: {},
          defaultEnv: 'default',
          forwarders: [],
          reverseNetworks: [],
          logger: silentLogger,
          metricsRegistry: new PromRegistry(),
        },
        registry,
      );
      await dns.start();
      probe = new DnsProbe('127.0.0.1', dns.address().port);
      api = await testApp((a) => registerServicesRoutes(a, { registry: registry as RegistryApi, sync }));
      sync.start();
      stream.start();
      await waitFor(() => sync.hasSynced() || undefined, 10_000);
      for (const n of NAMES) await leader.control.deploy(web(n));
      await waitFor(() => registry.listServices().filter((s) => s.endpoints.length === 1).length === NAMES.length || undefined, 20_000);
      await sync.idle();
    }, 60_000);

    afterAll(async () => {
      stream?.stop();
      await sync?.stop();
      await registry?.idle();
      probe?.close();
      await dns?.stop();
      await api?.close();
      for (const n of nodes ?? []) await n.close();
      await db?.drop();
    });

    /** Arms the same REST fault on both nodes (berth tries each URL); returns the remover. */
    const fault = (f: Parameters<Simulator['control']['fault']>[0]): (() => void) => {
      const removers = nodes.map((n) => n.control.fault(f));
      return () => removers.forEach((r) => r());
    };
    const listFetches = (): number => nodes.reduce((n, s) => n + s.control.requestCount('GET /v2/apps'), 0);
    const appFetches = (): number => nodes.reduce((n, s) => n + ALL.reduce((m, id) => m + s.control.requestCount(`GET /v2/apps${id}`), 0), 0);

    /** One Marathon answer to a snapshot. */
    async function drive(answer: Answer): Promise<void> {
      switch (answer) {
        case 'good':
          expect((await sync.syncNow()).result).not.toBe('failed');
          break;
        case 'failed': {
          const clear = fault({ kind: 'status', status: 503, path: '/v2/apps' });
          expect(await sync.syncNow()).toMatchObject({ result: 'failed' });
          clear();
          break;
        }
        case 'garbage': {
          const clear = fault({ kind: 'garbage', path: '/v2/apps' });
          expect(await sync.syncNow()).toMatchObject({ result: 'failed' });
          clear();
          break;
        }
        case 'empty': {
          // App GETs first: faults match by path prefix, the first armed wins.
          const clear404 = fault({ kind: 'status', status: 404, path: '/v2/apps/', body: JSON.stringify({ message: 'App does not exist' }) });
          const clearEmpty = fault({ kind: 'emptyApps', path: '/v2/apps' });
          const before = appFetches();
          leader.control.publish({
            eventType: 'group_change_success',
            groupId: '/',
            version: new Date().toISOString(),
            timestamp: new Date().toISOString(),
          } as never);
          await waitFor(
            () => appFetches() >= before + ALL.length || undefined,
            10_000,
            () => `refetches seen: ${appFetches() - before}`,
          );
          await sync.idle();
          await registry.idle();
          expect(await sync.syncNow()).toMatchObject({ result: 'held', reason: 'empty' });
          clear404();
          clearEmpty();
          break;
        }
        case 'partial':
          partial = true;
          try {
            expect(await sync.syncNow()).toMatchObject({ result: 'held' });
          } finally {
            partial = false;
          }
          break;
        case 'reconnect':
        case 'leader': {
          const before = listFetches();
          if (answer === 'reconnect') {
            for (const n of nodes) n.control.cutStreams();
          } else {
            leader = leader === nodes[0] ? nodes[1] : nodes[0];
            leader.control.becomeLeader();
          }
          // The stream reconnects and the sync takes a snapshot of its own.
          await waitFor(
            () => listFetches() > before || undefined,
            10_000,
            () => `no snapshot after ${answer}`,
          );
          await sync.idle();
          break;
        }
      }
      await sync.idle();
      await registry.idle();
    }

    /** The published app ids, in the registry and in DNS answers (after DNS caught up with the registry). */
    async function served(): Promise<{ registry: string[]; dns: string[] }> {
      const position = await registry.position();
      await waitFor(
        () => dns.currentIndex().position === position || undefined,
        5000,
        () => `dns at ${dns.currentIndex().position}, registry at ${position}`,
      );
      const inDns: string[] = [];
      for (const n of NAMES) {
        const a = await probe.query(`_http._tcp.${n}.${ZONE}`, 33, 1000);
        if (a && a.rcode === 0 && a.answers > 0) inDns.push(`/guard/${n}`);
      }
      const inRegistry = registry
        .listServices()
        .filter((s) => s.endpoints.length > 0)
        .map((s) => s.appId)
        .sort();
      return { registry: inRegistry, dns: inDns };
    }

    // A pair that failed must not fail the ones after it: start each from a clean, complete state.
    beforeEach(async () => {
      if (registry.status().held) await registry.release();
      await drive('good');
    });

    const pairs = ANSWERS.flatMap((x) => ANSWERS.map((y) => [x, y] as const));

    test.each(pairs)('%s, then %s: every service stays until released', async (x, y) => {
      expect(await served()).toEqual({ registry: ALL, dns: ALL });
      expect(registry.status().held).toBeNull();
      let hold: Held = null;
      for (const answer of [x, y]) {
        await drive(answer);
        hold = nextHold(hold, answer);
        expect(await served()).toEqual({ registry: ALL, dns: ALL });
        expect(registry.status().held?.reason ?? null).toEqual(
          hold === null ? null : hold === 'failed' ? 'failed' : hold === 'empty' ? 'empty' : expect.stringMatching(/removal-ratio|all-endpoints/),
        );
      }
      // The operator releases: what was held is applied, and only then do services go.
      const res = await api.inject({ method: 'POST', url: '/v1/registry/release', payload: {} });
      expect(res.statusCode).toBe(200);
      expect(res.json().released).toBe(hold !== null);
      const left = hold === 'empty' ? [] : hold === 'partial' ? PARTIAL_KEEPS : ALL;
      expect(await served()).toEqual({ registry: left, dns: left });
      // A good answer restores everything for the next pair (a smaller registry is not guarded against growth).
      await drive('good');
      expect(await served()).toEqual({ registry: ALL, dns: ALL });
    });
  });
}
