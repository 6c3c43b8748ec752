/**
 * Deploys the demo catalog into the simulator the way a release pipeline would: a pool for fixed
 * IPs through berth's API, `POST /v1/apps/prepare` for each fixed-IP app, then the (prepared)
 * definitions into Marathon, every task pointing at a real loopback backend.
 */
import type { Logger } from '../log';
import type { Simulator } from '../sim';
import type { TaskPlacement } from '../sim';
import { type DemoApp, demoCatalog, type CatalogOptions } from './apps';
import { type Backend, startHttpBackend, startRedisLike } from './backends';

type Json = Record<string, unknown>;
type Place = (def: Json, index: number) => Partial<TaskPlacement> | undefined;

/** The demo's fixed-IP pool. Loopback addresses, so its "containers" really listen on them (Linux routes 127/8 to lo). */
// Loopback on purpose (the demo's "containers" are local processes), hence allowSpecial.
export const DEMO_POOL = {
  name: 'demo',
  cidr: '127.77.0.0/24',
  gateway: '127.77.0.1',
  dockerNetwork: 'demo-net',
  bridgeName: 'br-demo',
  quarantineSeconds: 60,
  allowSpecial: true,
};

/** Container-network tasks get addresses from here (what a CNI plugin would hand out). */
const CONTAINER_NET = '127.78.0.';

export interface SeededApp {
  id: string;
  /** The definition as deployed (prepared for fixed-IP apps). */
  def: Json;
  place: Place | undefined;
  /** The fixed or container address, if the app has one. */
  ip?: string;
  backends: Backend[];
}

export interface SeededPlatform {
  apps: SeededApp[];
  pool: string;
  close(): Promise<void>;
}

/** A small JSON client for berth's API (writes come from loopback, or carry a token). */
export async function api(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<{ status: number; body: Json; headers: Headers }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let parsed: Json = {};
  try {
    parsed = text ? (JSON.parse(text) as Json) : {};
  } catch {
    parsed = { raw: text };
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

const portMappings = (def: Json): Json[] => ((def.container as Json | undefined)?.portMappings as Json[] | undefined) ?? [];

/** Starts one backend of the kind the app speaks, on `address:port` (or any free port there). */
function backendFor(app: DemoApp, index: number, address: string, port: number): Promise<Backend> {
  const id = String(app.def.id);
  return app.speaks === 'redis' ? startRedisLike(id, address, port) : startHttpBackend(id, index, address, port);
}

/** Points the app's (single) container port at the port its backend actually got. */
function withContainerPort(def: Json, port: number): Json {
  const [first, ...rest] = portMappings(def);
  if (!first || first.containerPort === port) return def;
  return { ...def, container: { ...(def.container as Json), portMappings: [{ ...first, containerPort: port }, ...rest] } };
}

export interface SeedOptions extends CatalogOptions {
  sim: Simulator;
  /** berth's API base URL. */
  apiUrl: string;
  token?: string;
  logger: Logger;
}

/** Creates the pool (idempotent across demo runs), prepares, starts backends and deploys every app. */
export async function seedPlatform(o: SeedOptions): Promise<SeededPlatform> {
  const created = await api(o.apiUrl, 'POST', '/v1/pools', { ...DEMO_POOL, name: o.pool }, o.token);
  // 409: the pool survives in ./var from an earlier run; allocations are per app id, so the apps get their old IPs back.
  if (created.status !== 201 && created.status !== 409) {
    throw new Error(`creating the demo pool failed: HTTP ${created.status} ${JSON.stringify(created.body)}`);
  }
  const seeded: SeededApp[] = [];
  const prepared: Array<{ app: DemoApp; def: Json; ip?: string }> = [];
  let containerHost = 10;
  // Prepare one at a time: fixed IPs come out in catalog order, which keeps the panel stable.
  for (const app of demoCatalog(o)) {
    if (app.reach === 'fixed') {
      const r = await api(o.apiUrl, 'POST', '/v1/apps/prepare', app.def, o.token);
      if (r.status !== 200 && r.status !== 201)
        throw new Error(`POST /v1/apps/prepare for ${String(app.def.id)} failed: HTTP ${r.status} ${JSON.stringify(r.body)}`);
      prepared.push({ app, def: r.body, ip: r.headers.get('x-berth-ip') ?? String((r.body.labels as Json)['berth.ip']) });
    } else if (app.reach === 'container') {
      prepared.push({ app, def: app.def, ip: `${CONTAINER_NET}${containerHost++}` });
    } else {
      prepared.push({ app, def: app.def });
    }
  }
  const all: Backend[] = [];
  try {
    await Promise.all(
      prepared.map(async ({ app, def, ip }) => {
        const backends: Backend[] = [];
        let place: Place | undefined;
        let deployed = def;
        if (app.reach === 'fixed' || app.reach === 'container') {
          const wanted = Number(portMappings(def)[0]?.containerPort ?? 0);
          const b = await backendFor(app, 0, ip as string, wanted).catch((err: Error) => {
            // Outside Linux only 127.0.0.1 may exist on lo: the app still deploys, its backend is missing.
            o.logger.warn({ appId: def.id, ip, err: err.message }, 'demo: cannot listen on the app address; its requests will fail');
            return undefined;
          });
          if (b) backends.push(b);
          deployed = b ? withContainerPort(def, b.port) : def;
          if (app.reach === 'container') place = () => ({ ipAddresses: [{ ipAddress: ip as string, protocol: 'IPv4' }] });
        } else if (app.reach !== 'none') {
          for (let i = 0; i < app.maxInstances; i++) backends.push(await backendFor(app, i, '127.0.0.1', 0));
          // Host and bridge tasks: the agent is loopback and the host port is the backend's real port.
          place = (_def, index) => ({ host: '127.0.0.1', ports: [backends[index % backends.length].port] });
        }
        all.push(...backends);
        await o.sim.control.deploy(deployed, { placeTask: place });
        seeded.push({ id: String(def.id), def: deployed, place, ip, backends });
      }),
    );
  } catch (err) {
    await Promise.all(all.map((b) => b.close()));
    throw err;
  }
  seeded.sort((a, b) => a.id.localeCompare(b.id));
  return { apps: seeded, pool: o.pool, close: async () => void (await Promise.all(all.map((b) => b.close()))) };
}
