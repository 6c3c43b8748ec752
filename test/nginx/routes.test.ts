import { Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/app';
import { registerSyncRoutes } from '../../src/http/routes/sync';
import { silentLogger } from '../../src/log';
import { InMemoryRegistryView } from '../../src/registry/view';
import { InMemoryProblemSink } from '../../src/nginx/store';
import { NginxSync } from '../../src/nginx/sync';
import { aService, anEndpoint, FakeClock, FakeControl, RecordingStore, TEMPLATES_DIR, tmpDir, withEndpoints } from './helpers';

describe('sync routes', () => {
  let app: FastifyInstance;
  let sync: NginxSync;
  let view: InMemoryRegistryView;
  let control: FakeControl;
  let store: RecordingStore;

  beforeEach(async () => {
    view = new InMemoryRegistryView();
    view.set([aService({ appId: '/web' }, withEndpoints(anEndpoint('10.0.0.1', 80), anEndpoint('10.0.0.2', 80)))]);
    control = new FakeControl();
    store = new RecordingStore();
    const metricsRegistry = new Registry();
    sync = new NginxSync({
      dir: tmpDir(),
      templatesDir: TEMPLATES_DIR,
      httpListen: '80',
      testCmd: '',
      reloadCmd: '',
      intervalMs: 1000,
      commandTimeoutMs: 1000,
      maxRemovalRatio: 0.5,
      logger: silentLogger,
      metricsRegistry,
      view,
      store,
      problems: new InMemoryProblemSink(),
      clock: new FakeClock(),
      control,
    });
    app = await buildApp({
      logger: silentLogger,
      metricsRegistry,
      apiTokens: [],
      readiness: [],
      register: (a) => registerSyncRoutes(a, { nginxSync: sync, syncRuns: store }),
    });
  });
  afterEach(async () => {
    await app.close();
    await sync.stop();
  });

  it('POST /v1/sync/nginx renders now and GET /v1/sync/runs lists the run', async () => {
    const forced = await app.inject({ method: 'POST', url: '/v1/sync/nginx' });
    expect(forced.statusCode).toBe(200);
    expect(forced.json().run).toMatchObject({ status: 'applied', trigger: 'forced', filesWritten: 1, reloaded: true });
    const runs = await app.inject({ method: 'GET', url: '/v1/sync/runs?limit=5' });
    expect(runs.statusCode).toBe(200);
    expect(runs.json().runs).toEqual([expect.objectContaining({ id: 1, status: 'applied', testOutput: null, offenders: [] })]);
  });

  it('a held sync shows in GET /v1/sync/status and goes out after POST /v1/sync/release', async () => {
    await sync.syncNow();
    view.set([]);
    expect((await sync.syncNow()).status).toBe('held');
    const status = await app.inject({ method: 'GET', url: '/v1/sync/status' });
    expect(status.json().held).toMatchObject({ reason: expect.stringContaining('all 1 service files') });
    const released = await app.inject({ method: 'POST', url: '/v1/sync/release', payload: {} });
    expect(released.json()).toMatchObject({ released: true, run: { status: 'applied', trigger: 'release', filesRemoved: 1 } });
    expect((await app.inject({ method: 'GET', url: '/v1/sync/status' })).json().held).toBeNull();
    // Nothing held: release is a no-op.
    expect((await app.inject({ method: 'POST', url: '/v1/sync/release' })).json()).toEqual({ released: false, run: null });
  });

  it('validates input and refuses writes from outside loopback', async () => {
    expect((await app.inject({ method: 'GET', url: '/v1/sync/runs?limit=0' })).statusCode).toBe(400);
    expect((await app.inject({ method: 'POST', url: '/v1/sync/release', payload: { force: true } })).statusCode).toBe(400);
    const remote = await app.inject({ method: 'POST', url: '/v1/sync/release', remoteAddress: '192.0.2.1' });
    expect(remote.statusCode).toBe(403);
  });
});
