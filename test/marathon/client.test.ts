import { Registry } from 'prom-client';
import { MarathonClient } from '../../src/marathon/client';
import { MarathonError } from '../../src/marathon/errors';
import { createMarathonMetrics } from '../../src/marathon/metrics';
import { type Simulator, startSimulator } from '../../src/sim';
import { HTTP_HEALTH, bridgeApp } from '../sim/helpers';
import { deadUrl, redirector, silentServer } from './helpers';

async function failure(p: Promise<unknown>): Promise<MarathonError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(MarathonError);
    return e as MarathonError;
  }
  throw new Error('expected a MarathonError, got an answer');
}

describe.each(['1.4', '1.10'] as const)('MarathonClient against the simulator (Marathon %s)', (flavour) => {
  let sim: Simulator;
  beforeEach(async () => {
    sim = await startSimulator({ flavour });
  });
  afterEach(async () => {
    await sim.close();
  });

  it('fetches apps with tasks and health results, and one app by id', async () => {
    await sim.control.deploy(bridgeApp('/team/web', { instances: 2, ...HTTP_HEALTH }));
    const client = new MarathonClient({ urls: [sim.url], timeoutMs: 2000 });
    const apps = await client.getApps();
    expect(apps.map((a) => a.id)).toEqual(['/team/web']);
    expect(apps[0].tasks).toHaveLength(2);
    expect(apps[0].tasks?.[0].healthCheckResults?.[0].alive).toBe(true);
    const app = await client.getApp('/team/web');
    expect(app.labels).toEqual({ 'berth.domain': 'team-web.berth.internal' });
    expect((await failure(client.getApp('/nope'))).kind).toBe('not_found');
  });

  it('rotates past a dead node and a 5xx node, and stays on the one that answered', async () => {
    const sick = await startSimulator({ flavour });
    sick.control.fault({ kind: 'status', status: 503 });
    const registry = new Registry();
    const metrics = createMarathonMetrics(registry);
    try {
      const client = new MarathonClient({ urls: [await deadUrl(), sick.url, sim.url], timeoutMs: 2000, metrics });
      expect(await client.getApps()).toEqual([]);
      expect(client.baseUrl).toBe(sim.url);
      await client.getApps();
      expect(sim.control.requestCount('GET /v2/apps')).toBe(2);
      expect(sick.control.requestCount('GET /v2/apps')).toBe(1);
      const text = await registry.metrics();
      expect(text).toMatch(/berth_marathon_requests_total\{endpoint="apps",outcome="server_error"\} 1/);
      expect(text).toMatch(/berth_marathon_requests_total\{endpoint="apps",outcome="connect"\} 1/);
    } finally {
      await sick.close();
    }
  });

  it('follows a 302 and keeps Basic credentials for the redirect target', async () => {
    sim.control.requireAuth({ username: 'berth', password: 's3cret' });
    const lb = await redirector(sim.url);
    try {
      const client = new MarathonClient({ urls: [lb.url, sim.url], username: 'berth', password: 's3cret', timeoutMs: 2000 });
      expect(await client.getApps()).toEqual([]);
      expect(lb.hits).toHaveLength(1);
      expect(sim.control.requestCount('GET /v2/apps')).toBe(1);
    } finally {
      await lb.close();
    }
  });

  it('sends a DC/OS token; wrong credentials are `unauthorized` and not retried elsewhere', async () => {
    sim.control.requireAuth({ token: 'jwt-1' });
    expect(await new MarathonClient({ urls: [sim.url], token: 'jwt-1' }).getApps()).toEqual([]);
    const other = await startSimulator({ flavour });
    try {
      const e = await failure(new MarathonClient({ urls: [sim.url, other.url], token: 'wrong' }).getApps());
      expect([e.kind, e.status]).toEqual(['unauthorized', 401]);
      expect(other.control.requestCount('GET /v2/apps')).toBe(0);
    } finally {
      await other.close();
    }
  });

  it.each([
    ['an HTML error page with 200', { kind: 'status', status: 200, body: '<html><body>Login</body></html>', contentType: 'text/html' }, 'bad_response'],
    ['garbage JSON', { kind: 'garbage' }, 'bad_response'],
    ['a JSON document of the wrong shape', { kind: 'wrongShape' }, 'bad_response'],
    ['a Jetty 503 page', { kind: 'html', status: 503 }, 'server_error'],
    ['a 500', { kind: 'status', status: 500 }, 'server_error'],
    ['a truncated body', { kind: 'truncate' }, 'connect'],
    ['a 404 for the whole API', { kind: 'status', status: 404, body: 'Not Found', contentType: 'text/plain' }, 'not_found'],
  ] as const)('turns %s into a typed error, never an empty list', async (_desc, fault, kind) => {
    sim.control.fault(fault);
    await sim.control.deploy(bridgeApp('/web'));
    const e = await failure(new MarathonClient({ urls: [sim.url], timeoutMs: 2000 }).getApps());
    expect(e.kind).toBe(kind);
    expect(e.url).toBe(`${sim.url}/v2/apps?embed=apps.tasks&embed=apps.deployments&embed=apps.readiness`);
  });

  it('returns an empty app list as it is (the registry decides whether to trust it)', async () => {
    await sim.control.deploy(bridgeApp('/web'));
    sim.control.fault({ kind: 'emptyApps', times: 1 });
    const client = new MarathonClient({ urls: [sim.url] });
    expect(await client.getApps()).toEqual([]);
    expect(await client.getApps()).toHaveLength(1);
  });
});

describe('MarathonClient timeouts', () => {
  it('gives up on a server that accepts and never answers, then rotates', async () => {
    const silent = await silentServer();
    const sim = await startSimulator();
    try {
      const alone = new MarathonClient({ urls: [silent.url], timeoutMs: 150 });
      const started = Date.now();
      const e = await failure(alone.getApps());
      expect(e.kind).toBe('timeout');
      expect(Date.now() - started).toBeLessThan(2000);
      const rotating = new MarathonClient({ urls: [silent.url, sim.url], timeoutMs: 150 });
      expect(await rotating.getApps()).toEqual([]);
    } finally {
      await silent.close();
      await sim.close();
    }
  });

  it('bounds a slow answer with the whole-call deadline', async () => {
    const sim = await startSimulator();
    try {
      sim.control.fault({ kind: 'delay', ms: 400, times: 1 });
      const e = await failure(new MarathonClient({ urls: [sim.url], timeoutMs: 100 }).getApps());
      expect(e.kind).toBe('timeout');
    } finally {
      await sim.close();
    }
  });
});
