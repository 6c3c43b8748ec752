/**
 * The demo platform, as data: about twenty Marathon apps over two environments (`integration`, the
 * shared default, and the feature environment `func-a`), covering every way the label contract
 * reaches a task (bridge, host network, container network, fixed IP) plus apps berth must ignore
 * or refuse. Pure: no sockets; `seed.ts` starts the backends and deploys these.
 */

type Json = Record<string, unknown>;

/** How a task of the app is reached, which decides where its backend listens. */
export type Reach = 'bridge' | 'host' | 'container' | 'fixed' | 'none';

/** What the backend speaks. */
export type Speaks = 'http' | 'redis' | 'nothing';

export interface DemoApp {
  /** Marathon app definition; fixed-IP apps carry `berth.ip=auto:<pool>` until prepared. */
  def: Json;
  reach: Reach;
  speaks: Speaks;
  /** Backends started for it: the most instances churn will scale it to. */
  maxInstances: number;
}

export interface CatalogOptions {
  /** DNS zone the names live in (first of BERTH_DNS_ZONES). */
  zone: string;
  /** Port Nginx listens on for the TCP (Redis) service: the app's `berth.listen`. */
  tcpListen: number;
  /** IPAM pool for the fixed-IP apps. */
  pool: string;
  /** The demo serves HTTPS (a certificate for tlsDomain() is in BERTH_TLS_DIR): TLS_APP_ID asks for it. */
  https?: boolean;
}

/** The app served over HTTPS when the demo has a certificate: `berth.dns=proxy`, so its name already points at Nginx. */
export const TLS_APP_ID = '/integration/static';
export const tlsDomain = (zone: string) => `static.integration.${zone}`;
/** HSTS max-age of the HTTPS app: short, as the name is a demo's. */
export const DEMO_HSTS_SECONDS = 300;

const docker = (image: string, extra: Json = {}): Json => ({ type: 'DOCKER', docker: { image, ...extra } });

function bridged(
  id: string,
  image: string,
  labels: Json,
  opts: { instances?: number; health?: boolean; containerPort?: number; portName?: string } = {},
): Json {
  return {
    id,
    instances: opts.instances ?? 1,
    cpus: 0.1,
    mem: 64,
    networks: [{ mode: 'container/bridge' }],
    container: { ...docker(image), portMappings: [{ containerPort: opts.containerPort ?? 80, hostPort: 0, name: opts.portName ?? 'http' }] },
    ...(opts.health ? { healthChecks: [{ protocol: 'HTTP', path: '/', portIndex: 0, intervalSeconds: 10, maxConsecutiveFailures: 3 }] } : {}),
    labels,
  };
}

function hostNetworked(id: string, labels: Json, instances = 1): Json {
  return { id, instances, cpus: 0.1, mem: 64, cmd: 'exec ./api --listen :$PORT0', portDefinitions: [{ port: 0, name: 'http' }], labels };
}

/** Container (CNI/USER) networking: the task's own address is the endpoint. Port filled by seed. */
function containerNetworked(id: string, image: string, labels: Json): Json {
  return {
    id,
    instances: 1,
    cpus: 0.1,
    mem: 64,
    networks: [{ mode: 'container', name: 'demo-overlay' }],
    container: { ...docker(image), portMappings: [{ containerPort: 8080, name: 'http' }] },
    labels,
  };
}

/** A fixed-IP app as a release pipeline writes it before asking berth for the address. */
function fixedIp(id: string, image: string, pool: string, port: number, labels: Json): Json {
  return {
    id,
    instances: 1,
    cpus: 0.2,
    mem: 128,
    networks: [{ mode: 'container/bridge' }],
    container: { ...docker(image), portMappings: [{ containerPort: port, hostPort: 0, name: port === 8080 ? 'http' : 'redis' }] },
    labels: { ...labels, 'berth.ip': `auto:${pool}` },
  };
}

/** The demo's apps, in deployment order. */
export function demoCatalog(o: CatalogOptions): DemoApp[] {
  const z = o.zone;
  const integ = { 'berth.env': 'integration' };
  const funcA = { 'berth.env': 'func-a' };
  const https = o.https ? { 'berth.tls': 'redirect', 'berth.tls.hsts': String(DEMO_HSTS_SECONDS) } : {};
  const app = (def: Json, reach: Reach = 'bridge', speaks: Speaks = 'http', maxInstances = Number(def.instances)): DemoApp => ({
    def,
    reach,
    speaks,
    maxInstances,
  });
  return [
    // integration: the shared environment every feature environment falls back to.
    app(
      bridged('/integration/web', 'shop/web:4.2', { ...integ, 'berth.domain': `web.integration.${z}`, 'berth.port': 'http' }, { instances: 2, health: true }),
      'bridge',
      'http',
      2,
    ),
    app(hostNetworked('/integration/api', { ...integ, 'berth.domain': `api.integration.${z}` }, 2), 'host', 'http', 3),
    app(bridged('/integration/auth', 'shop/auth:1.9', { ...integ, 'berth.domain': `auth.integration.${z}` }, { health: true })),
    app(containerNetworked('/integration/search', 'shop/search:2.0', { ...integ, 'berth.domain': `search.integration.${z}` }), 'container'),
    // No berth.env: lands in BERTH_DEFAULT_ENV (integration in the demo).
    app(bridged('/integration/orders', 'shop/orders:7.1', { 'berth.domain': `orders.integration.${z}` }, { health: true }), 'bridge', 'http', 1),
    // berth.dns=proxy: the name resolves to the environment's Nginx, not to the task. With a
    // certificate: HTTPS, plain HTTP answers 308 to it, and HSTS.
    app(bridged(TLS_APP_ID, 'shop/static:1.0', { ...integ, 'berth.domain': tlsDomain(z), 'berth.dns': 'proxy', ...https })),
    app(bridged('/integration/admin', 'shop/admin:3.3', { ...integ, 'berth.domain': `admin.integration.${z},admin.shop.example.test` })),
    app(
      bridged(
        '/integration/redis',
        'redis:7',
        { ...integ, 'berth.domain': `redis.integration.${z}`, 'berth.proxy': 'tcp', 'berth.listen': String(o.tcpListen) },
        { containerPort: 6379, portName: 'redis' },
      ),
      'bridge',
      'redis',
    ),
    app(fixedIp('/integration/billing', 'shop/billing:5.0', o.pool, 8080, { ...integ, 'berth.domain': `billing.integration.${z}` }), 'fixed'),
    // Same name in both environments, DNS only: each environment's clients get their own cache.
    app(fixedIp('/integration/session-cache', 'redis:7', o.pool, 6379, { ...integ, 'berth.domain': `cache.${z}`, 'berth.proxy': 'none' }), 'fixed', 'redis'),
    app(
      bridged('/integration/payments', 'shop/payments:2.4', { ...integ, 'berth.domain': `payments.integration.${z}` }, { instances: 2 }),
      'bridge',
      'http',
      2,
    ),
    app(hostNetworked('/integration/metrics-exporter', { ...integ, 'berth.domain': `exporter.integration.${z}`, 'berth.proxy': 'none' }), 'host'),
    // Not berth's business (no berth.domain): ignored silently.
    app({ id: '/integration/batch-worker', instances: 1, cpus: 0.5, mem: 256, cmd: 'exec ./worker' }, 'none', 'nothing'),
    // Refused: the domain would inject an Nginx directive. Kept as a problem; everything else goes on.
    app(bridged('/integration/legacy-portal', 'shop/legacy:0.9', { ...integ, 'berth.domain': 'portal.example.com; include /etc/passwd' }), 'bridge'),

    // func-a: a feature environment with its own versions of a few services.
    app(bridged('/func-a/web', 'shop/web:4.3-func-a', { ...funcA, 'berth.domain': `web.func-a.${z}`, 'berth.port': 'http' }, { health: true })),
    app(hostNetworked('/func-a/api', { ...funcA, 'berth.domain': `api.func-a.${z}` }), 'host'),
    app(containerNetworked('/func-a/search', 'shop/search:2.1-func-a', { ...funcA, 'berth.domain': `search.func-a.${z}` }), 'container'),
    app(fixedIp('/func-a/billing', 'shop/billing:5.1-func-a', o.pool, 8080, { ...funcA, 'berth.domain': `billing.func-a.${z}` }), 'fixed'),
    app(fixedIp('/func-a/session-cache', 'redis:7', o.pool, 6379, { ...funcA, 'berth.domain': `cache.${z}`, 'berth.proxy': 'none' }), 'fixed', 'redis'),
    app({ id: '/func-a/cron', instances: 1, cpus: 0.1, mem: 32, cmd: 'exec ./cron' }, 'none', 'nothing'),
  ];
}

/** The app whose labels the demo breaks on purpose (listed under /v1/problems). */
export const BAD_APP_ID = '/integration/legacy-portal';
