/**
 * End to end: Marathon simulator → real REST client and event stream → MarathonSync → Registry
 * (embedded database) → NginxSync → a real nginx proxying to real backends on loopback.
 * Apps carry `berth.ip=127.0.0.1` so their endpoint is 127.0.0.1:<containerPort>, where the test's
 * backend listens.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Registry as PromRegistry } from 'prom-client';
import { silentLogger } from '../../src/log';
import { KnexSyncRunStore } from '../../src/nginx/knex-store';
import { leaderProblemSink } from '../../src/nginx/store';
import { NginxSync } from '../../src/nginx/sync';
import { openTestDb, type TestDb } from '../support/db';
import { TEMPLATES_DIR, waitFor } from './helpers';
import { describeWithTools } from '../support/tools';
import { freePort, httpGet, startBackend, startEcho, startNginx } from './nginx-harness';
import { followSimulator } from '../support/follow-sim';

const app = (id: string, port: number, labels: Record<string, string>) => ({
  id,
  instances: 1,
  container: { type: 'DOCKER', docker: { image: 'example/app:1' }, portMappings: [{ containerPort: port, hostPort: 0, name: 'main' }] },
  networks: [{ mode: 'container/bridge' }],
  labels: { 'berth.ip': '127.0.0.1', ...labels },
});

describeWithTools(['nginx'], 'Marathon simulator → registry → nginx', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
  });

  it('serves apps deployed in Marathon through nginx, per environment, over HTTP and TCP, and follows removals', async () => {
    const db: TestDb = await openTestDb('pglite');
    cleanups.push(() => db.drop());
    const nginx = await startNginx();
    cleanups.push(() => nginx.stop());
    const [prod, qa] = await Promise.all([startBackend('prod'), startBackend('qa')]);
    const echo = await startEcho('tcp:');
    cleanups.push(async () => void (await Promise.all([prod.close(), qa.close(), echo.close()])));

    const { sim, registry } = await followSimulator(db.knex, 0.5, cleanups);
    const sync = new NginxSync({
      dir: nginx.dir,
      templatesDir: TEMPLATES_DIR,
      httpListen: `127.0.0.1:${nginx.httpPort}`,
      testCmd: nginx.testCmd,
      reloadCmd: nginx.reloadCmd,
      intervalMs: 200,
      commandTimeoutMs: 10000,
      maxRemovalRatio: 0.5,
      logger: silentLogger,
      metricsRegistry: new PromRegistry(),
      view: registry,
      store: new KnexSyncRunStore(db.knex),
      problems: leaderProblemSink({ registry }),
    });
    await sync.start();
    cleanups.push(() => sync.stop());

    const tcpListen = await freePort();
    await sim.control.deploy(app('/shop/web', prod.port, { 'berth.domain': 'web.shop.berth.test' }));
    await sim.control.deploy(app('/shop/web-qa', qa.port, { 'berth.domain': 'web.shop.qa.berth.test', 'berth.env': 'qa' }));
    await sim.control.deploy(app('/shop/db', echo.port, { 'berth.domain': 'db.shop.berth.test', 'berth.proxy': 'tcp', 'berth.listen': String(tcpListen) }));

    const get = (host: string) => httpGet(nginx.httpPort, host).catch(() => ({ status: 0, body: '' }));
    await waitFor(async () => (await get('web.shop.berth.test')).body === 'prod', 'the default environment through nginx', 20000);
    await waitFor(async () => (await get('web.shop.qa.berth.test')).body === 'qa', 'the qa environment through nginx', 20000);
    expect(fs.readdirSync(path.join(nginx.dir, 'qa/http'))).toEqual(['shop_0web_1qa.conf']);
    const tcp = () =>
      new Promise<string>((resolve) => {
        const s = net.connect(tcpListen, '127.0.0.1', () => s.write('ping'));
        s.setTimeout(2000, () => s.destroy());
        s.once('data', (b) => (resolve(b.toString()), s.destroy()));
        s.on('error', () => resolve(''));
        s.on('close', () => resolve(''));
      });
    await waitFor(async () => (await tcp()) === 'tcp:ping', 'bytes through the stream proxy', 20000);

    // An app removed in Marathon (1 of 3 upstream servers: below the ratio) leaves nginx.
    await sim.control.remove('/shop/db');
    await waitFor(async () => (await tcp()) === '', 'the TCP service to go away', 20000);
    expect((await get('web.shop.berth.test')).body).toBe('prod');
    const runs = await new KnexSyncRunStore(db.knex).list({ limit: 50 });
    expect(runs.some((r) => r.status === 'applied' && r.reloaded)).toBe(true);
  }, 120000); // embedded database, simulator and nginx start-up on a busy 2-core machine
});
