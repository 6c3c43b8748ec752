/**
 * Several ports per app, end to end: Marathon simulator → REST client and event stream →
 * MarathonSync → Registry (embedded database) → NginxSync with a real nginx, and the DNS server
 * reading the same registry. One app declares two ports; `berth.domain` publishes the first and
 * `berth.port.admin.domain` the second, each on its own domain, upstream and file, with A records
 * for both names and an SRV record per port. The app uses `berth.ip=127.0.0.1`, so each port's
 * endpoint is 127.0.0.1:<containerPort>, where a test backend listens.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Registry as PromRegistry } from 'prom-client';
import { DnsServer } from '../../src/dns/server';
import { silentLogger } from '../../src/log';
import { KnexSyncRunStore } from '../../src/nginx/knex-store';
import { leaderProblemSink } from '../../src/nginx/store';
import { NginxSync } from '../../src/nginx/sync';
import { dig } from '../dns/helpers';
import { openTestDb } from '../support/db';
import { describeWithTools } from '../support/tools';
import { TEMPLATES_DIR, waitFor } from './helpers';
import { httpGet, startBackend, startNginx } from './nginx-harness';
import { followSimulator } from '../support/follow-sim';

describeWithTools(['nginx', 'dig'], 'an app with two ports through Marathon, nginx and DNS', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
  });

  it('serves each port on its own domain and answers A and SRV records per port', async () => {
    const db = await openTestDb('pglite');
    cleanups.push(() => db.drop());
    const nginx = await startNginx();
    cleanups.push(() => nginx.stop());
    const [web, admin] = await Promise.all([startBackend('web'), startBackend('admin')]);
    cleanups.push(async () => void (await Promise.all([web.close(), admin.close()])));

    const { sim, registry } = await followSimulator(db.knex, 1, cleanups);
    const sync = new NginxSync({
      dir: nginx.dir,
      templatesDir: TEMPLATES_DIR,
      httpListen: `127.0.0.1:${nginx.httpPort}`,
      testCmd: nginx.testCmd,
      reloadCmd: nginx.reloadCmd,
      intervalMs: 200,
      commandTimeoutMs: 10000,
      maxRemovalRatio: 1,
      logger: silentLogger,
      metricsRegistry: new PromRegistry(),
      view: registry,
      store: new KnexSyncRunStore(db.knex),
      problems: leaderProblemSink({ registry }),
    });
    await sync.start();
    cleanups.push(() => sync.stop());
    const dns = new DnsServer(
      {
        host: '127.0.0.1',
        port: 0,
        zones: ['berth.test'],
        ttl: 10,
        environments: {},
        defaultEnv: 'default',
        forwarders: [],
        reverseNetworks: [],
        logger: silentLogger,
        metricsRegistry: new PromRegistry(),
        minRebuildIntervalMs: 20,
      },
      registry,
    );
    await dns.start();
    cleanups.push(() => dns.stop());
    const dnsPort = dns.address().port;

    await sim.control.deploy({
      id: '/two/ports',
      instances: 1,
      container: {
        type: 'DOCKER',
        docker: { image: 'example/app:1' },
        portMappings: [
          { containerPort: web.port, hostPort: 0, name: 'main' },
          { containerPort: admin.port, hostPort: 0, name: 'admin' },
        ],
      },
      networks: [{ mode: 'container/bridge' }],
      labels: { 'berth.ip': '127.0.0.1', 'berth.domain': 'web.two.berth.test', 'berth.port.admin.domain': 'admin.two.berth.test' },
    });

    // Two services in the API's view of the registry: the main one and port `admin`.
    await waitFor(
      () => registry.current().services.filter((s) => s.appId === '/two/ports' && s.endpoints.length === 1).length === 2,
      'both services published with their endpoint',
      20000,
    );
    expect(registry.current().services.map((s) => [s.port ?? null, s.domains[0], s.endpoints[0]?.port])).toEqual([
      [null, 'web.two.berth.test', web.port],
      ['admin', 'admin.two.berth.test', admin.port],
    ]);

    const get = (host: string) => httpGet(nginx.httpPort, host).catch(() => ({ status: 0, body: '' }));
    await waitFor(async () => (await get('web.two.berth.test')).body === 'web', 'the main port through nginx', 20000);
    await waitFor(async () => (await get('admin.two.berth.test')).body === 'admin', 'the admin port through nginx', 20000);
    expect(fs.readdirSync(path.join(nginx.dir, 'default/http')).sort()).toEqual(['two_0ports.conf', 'two_0ports_4admin.conf']);

    const answers = async (name: string, type: string): Promise<string[]> =>
      (await dig(dnsPort, [name, type])).answers.map((a) => a.split(' ').slice(3).join(' '));
    await waitFor(async () => (await answers('admin.two.berth.test', 'A')).length > 0, 'DNS to answer for the admin name', 20000);
    expect(await answers('web.two.berth.test', 'A')).toEqual(['A 127.0.0.1']);
    expect(await answers('admin.two.berth.test', 'A')).toEqual(['A 127.0.0.1']);
    const srv = async (name: string) => (await answers(name, 'SRV')).map((a) => a.split(' ')[3]);
    expect(await srv('_main._tcp.web.two.berth.test')).toEqual([String(web.port)]);
    expect(await srv('_admin._tcp.admin.two.berth.test')).toEqual([String(admin.port)]);
    // Each port's SRV name lives under its own domain only.
    expect(await srv('_admin._tcp.web.two.berth.test')).toEqual([]);

    // Removing the per-port label takes that port out of nginx and DNS; the main service stays.
    await sim.control.update('/two/ports', { labels: { 'berth.ip': '127.0.0.1', 'berth.domain': 'web.two.berth.test' } });
    await waitFor(async () => (await get('admin.two.berth.test')).body !== 'admin', 'the admin port to leave nginx', 20000);
    await waitFor(async () => (await answers('admin.two.berth.test', 'A')).length === 0, 'the admin name to leave DNS', 20000);
    expect((await get('web.two.berth.test')).body).toBe('web');
    expect(fs.readdirSync(path.join(nginx.dir, 'default/http'))).toEqual(['two_0ports.conf']);
  }, 120000);
});
