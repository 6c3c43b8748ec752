/**
 * A whole berth (`start()` as `berth run` builds it) on PGlite or a fresh PostgreSQL database, a
 * Marathon simulator, a real Nginx rendering every environment into one `http {}` (the shipped
 * nginx.conf.example) and the in-process DNS server on fixed loopback ports, so berth's own
 * sockets are known to the address policy. Backends listen on loopback, so the tests widen the
 * fixed-IP ranges to 127.0.0.0/8 (BERTH_FIXED_IP_ALLOW_CIDRS), as an operator of such a setup would.
 */
import { startStack, ZONE, type Stack } from '../faults/stack';
import { waitFor } from '../support/wait';
import { freePort, httpGet, startBackend, startNginx, type RealNginx } from '../nginx/nginx-harness';

export { ZONE };

export interface Problem {
  code: string;
  appId: string;
  env: string | null;
  message: string;
  details?: Record<string, unknown>;
}

export interface HostileStack {
  stack: Stack;
  nginx: RealNginx;
  apiPort: number;
  dnsPort: number;
  databaseUrl?: string;
  problems(): Promise<Problem[]>;
  /** A records for `name` (0 on NXDOMAIN/NODATA, null on no answer). */
  a(name: string): Promise<number | null>;
  /** GET / through Nginx with this Host header, once no reload is half-way (`RealNginx.settled`); status 0 when unreachable. */
  http(host: string): Promise<{ status: number; body: string }>;
  /** Deploys an HTTP app on a fresh loopback backend answering `body`; the backend closes with the stack. */
  deployServed(id: string, labels: Record<string, string>, body: string): Promise<void>;
  stop(): Promise<void>;
}

/** A bridged app whose fixed IP (127.0.0.1) and container port reach a test backend. */
export function fixedApp(id: string, port: number, labels: Record<string, string>): Record<string, unknown> {
  return {
    id,
    instances: 1,
    container: { type: 'DOCKER', docker: { image: 'example/app:1' }, portMappings: [{ containerPort: port, hostPort: 0, name: 'http' }] },
    networks: [{ mode: 'container/bridge' }],
    labels: { 'berth.ip': '127.0.0.1', ...labels },
  };
}

/** `databaseUrl`: a PostgreSQL database (from describeEachEngine), or undefined for embedded PGlite. */
export async function hostileStack(databaseUrl: string | undefined, env: Record<string, string> = {}): Promise<HostileStack> {
  const nginx = await startNginx();
  const [apiPort, dnsPort] = [await freePort(), await freePort()];
  const closers: Array<() => Promise<void>> = [];
  let stack: Stack;
  try {
    stack = await startStack({
      env: {
        BERTH_HTTP_ADDR: `127.0.0.1:${apiPort}`,
        BERTH_DNS_ADDR: `127.0.0.1:${dnsPort}`,
        BERTH_NGINX_DIR: nginx.dir,
        BERTH_NGINX_TEST_CMD: nginx.testCmd,
        BERTH_NGINX_RELOAD_CMD: nginx.reloadCmd,
        BERTH_NGINX_ADMIN_LISTEN: nginx.adminListen,
        BERTH_NGINX_ERROR_LOG: nginx.errorLog,
        BERTH_NGINX_HTTP_LISTEN: `127.0.0.1:${nginx.httpPort}`,
        BERTH_FIXED_IP_ALLOW_CIDRS: '127.0.0.0/8',
        ...(databaseUrl ? { BERTH_DATABASE_URL: databaseUrl } : {}),
        ...env,
      },
    });
  } catch (err) {
    await nginx.stop();
    throw err;
  }
  const h: HostileStack = {
    stack,
    nginx,
    apiPort,
    dnsPort,
    databaseUrl,
    problems: async () => (await stack.api<{ problems: Problem[] }>('GET', '/v1/problems')).body.problems,
    a: async (name) => {
      const r = await stack.dns.query(name, 1, 1000);
      return r === null ? null : r.rcode === 3 ? 0 : r.answers;
    },
    // After a reload settled: a request must not reach the worker of the configuration before it.
    http: async (host) => {
      await nginx.settled();
      return httpGet(nginx.httpPort, host).catch(() => ({ status: 0, body: '' }));
    },
    deployServed: async (id, labels, body) => {
      const b = await startBackend(body);
      closers.push(() => b.close());
      await stack.sim.control.deploy(fixedApp(id, b.port, labels));
    },
    stop: async () => {
      await stack.stop();
      await nginx.stop();
      for (const c of closers) await c().catch(() => undefined);
    },
  };
  // One app that stays: deleting the only served app would be (rightly) held by the mass-removal guard.
  await h.deployServed('/hostile/steady', { 'berth.domain': `steady.${ZONE}` }, 'steady');
  await waitFor(
    async () => (await h.http(`steady.${ZONE}`)).body === 'steady',
    20000,
    () => 'steady app served',
  );
  return h;
}

/** Waits until a problem with `code` for an app id matching `appId` is listed, and returns it. */
export async function problemOf(h: HostileStack, code: string, appId: string | RegExp, timeoutMs = 20000): Promise<Problem> {
  const match = (p: Problem) => p.code === code && (typeof appId === 'string' ? p.appId === appId : appId.test(p.appId));
  let seen: Problem[] = [];
  return waitFor(
    async () => (seen = await h.problems()).find(match),
    timeoutMs,
    () => `problem ${code} for ${String(appId)}; have ${JSON.stringify(seen)}`,
  );
}

/**
 * The convergence every hostile test ends with: a healthy app created afterwards is served by Nginx
 * and DNS, and a deleted one disappears from both.
 */
export async function expectStillConverging(h: HostileStack, tag: string): Promise<void> {
  const name = `after-${tag}.${ZONE}`;
  await h.deployServed(`/hostile/after-${tag}`, { 'berth.domain': name }, `after-${tag}`);
  await waitFor(
    async () => (await h.http(name)).body === `after-${tag}` && (await h.a(name)) === 1,
    20000,
    () => `${name} served by Nginx and DNS`,
  );
  await h.stack.sim.control.remove(`/hostile/after-${tag}`);
  await waitFor(
    async () => (await h.http(name)).status === 404 && (await h.a(name)) === 0,
    20000,
    () => `${name} gone from Nginx and DNS`,
  );
}
