/**
 * Marathon's REST endpoints over the shared cluster state (docs/marathon.md "REST calls"). Handlers
 * return a plain reply; `node.ts` writes it with the node's headers.
 */
import { cancelDeployments, createApp, deleteApp, restartApp, updateApp } from './deploy';
import { canonicalAppId } from './model';
import { appJson, appJsonText, parseEmbed, taskJson } from './serialize';
import type { SimCluster } from './state';
import { validateApp } from './validate';

type Json = Record<string, unknown>;

/** `raw`: a body already serialised as JSON (large lists), sent instead of `body`. */
export interface Reply {
  status: number;
  body: unknown;
  raw?: string;
  headers?: Record<string, string>;
}

export interface RouteRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
  clientIp: string;
  rawUrl: string;
  /** `host:port` of the node answering. */
  self: string;
  /** Fault switch: answer `GET /v2/apps` with `{"apps":[]}`. */
  emptyApps: boolean;
  /** Fault switch: answer a valid JSON document of the wrong shape. */
  wrongShape: boolean;
}

const notFound = (id: string): Reply => ({ status: 404, body: { message: `App '${id}' does not exist` } });
const invalid = (details: unknown): Reply => ({ status: 422, body: { message: 'Object is not valid', details } });

/** 409 while a deployment holds the app, unless `force=true` (which cancels those deployments). */
function locked(c: SimCluster, appId: string, force: boolean): Reply | undefined {
  if (force) {
    cancelDeployments(c, appId);
    return undefined;
  }
  const app = c.apps.get(appId);
  if (!app || app.deployments.size === 0) return undefined;
  return { status: 409, body: { message: 'App is locked by one or more deployments.', deployments: [...app.deployments].map((id) => ({ id })) } };
}

function listApps(c: SimCluster, r: RouteRequest): Reply {
  if (r.wrongShape) return { status: 200, body: { app: [] } };
  if (r.emptyApps) return { status: 200, body: { apps: [] } };
  // GET /v2/apps always embeds counts and deployments (AppsResource.index).
  const embed = { ...parseEmbed(r.query.getAll('embed')), counts: true, deployments: true };
  const idFilter = r.query.get('id');
  const cmdFilter = r.query.get('cmd');
  const label = r.query.get('label');
  const apps: string[] = [];
  for (const app of c.apps.values()) {
    if (idFilter && !app.def.id.includes(idFilter)) continue;
    if (cmdFilter && !String(app.def.cmd ?? '').includes(cmdFilter)) continue;
    if (label) {
      const [k, v] = label.split('==');
      const labels = app.def.labels as Record<string, string>;
      if (!(k in labels) || (v !== undefined && labels[k] !== v)) continue;
    }
    apps.push(appJsonText(app, c.flavour, embed));
  }
  return { status: 200, body: null, raw: `{"apps":[${apps.join(',')}]}` };
}

function getApp(c: SimCluster, rest: string, embed: string[] = []): Reply {
  if (rest.endsWith('/*')) {
    const prefix = canonicalAppId(rest.slice(0, -2));
    const all = { ...parseEmbed(['tasks', 'counts', 'deployments', 'lastTaskFailure']) };
    const apps = [...c.apps.values()].filter((a) => a.def.id.startsWith(`${prefix}/`)).map((a) => appJson(a, c.flavour, all));
    return { status: 200, body: { '*': apps } };
  }
  if (rest.endsWith('/tasks')) {
    const app = c.apps.get(canonicalAppId(rest.slice(0, -6)));
    if (!app) return notFound(canonicalAppId(rest.slice(0, -6)));
    return { status: 200, body: { tasks: [...app.tasks.values()].map((t) => taskJson(t, app.def, c.flavour)) } };
  }
  const id = canonicalAppId(rest);
  const app = c.apps.get(id);
  if (!app) return notFound(id);
  return { status: 200, body: { app: appJson(app, c.flavour, parseEmbed(['tasks', 'counts', 'deployments', 'lastTaskFailure', ...embed])) } };
}

function postApp(c: SimCluster, r: RouteRequest): Reply {
  const violations = validateApp(r.body, c.flavour);
  if (violations.length) return invalid(violations);
  const id = canonicalAppId(String((r.body as Json).id));
  if (c.apps.has(id)) return { status: 409, body: { message: `An app with id [${id}] already exists.` } };
  const { app, deployment } = createApp(c, r.body as Json, { clientIp: r.clientIp, uri: r.rawUrl });
  const body = appJson(app, c.flavour, parseEmbed(['counts', 'deployments']));
  body.deployments = [{ id: deployment.id }];
  return { status: 201, body, headers: { Location: `http://${r.self}/v2/apps${id}` } };
}

function putApp(c: SimCluster, r: RouteRequest, rest: string): Reply {
  const id = canonicalAppId(rest);
  const violations = validateApp(r.body, c.flavour, false, c.apps.has(id));
  if (violations.length) return invalid(violations);
  const body = r.body as Json;
  if (body.id !== undefined && canonicalAppId(String(body.id)) !== id) {
    return invalid([{ path: '/id', errors: ['id in the body must match the id in the path'] }]);
  }
  if (!c.apps.has(id)) {
    // PUT on a missing app creates it (Marathon's upsert semantics).
    const { deployment } = createApp(c, { ...body, id }, { clientIp: r.clientIp, uri: r.rawUrl });
    return { status: 201, body: { version: deployment.version, deploymentId: deployment.id } };
  }
  const lock = locked(c, id, r.query.get('force') === 'true');
  if (lock) return lock;
  const d = updateApp(c, id, body, { clientIp: r.clientIp, uri: r.rawUrl });
  return { status: 200, body: { version: d.version, deploymentId: d.id } };
}

function putApps(c: SimCluster, r: RouteRequest): Reply {
  if (!Array.isArray(r.body)) return invalid([{ path: '/', errors: ['error.expected.jsarray'] }]);
  const exists = (a: unknown): boolean => typeof a === 'object' && a !== null && c.apps.has(canonicalAppId(String((a as Json).id)));
  const details = r.body.flatMap((a, i) => validateApp(a, c.flavour, true, exists(a)).map((v) => ({ ...v, path: `(${i})${v.path}` })));
  if (details.length) return invalid(details);
  let last: { version: string; id: string } | undefined;
  for (const a of r.body as Json[]) {
    const id = canonicalAppId(String(a.id));
    last = c.apps.has(id) ? updateApp(c, id, a, { clientIp: r.clientIp, uri: r.rawUrl }) : createApp(c, a, { clientIp: r.clientIp, uri: r.rawUrl }).deployment;
  }
  return { status: 200, body: { version: last?.version ?? new Date().toISOString(), deploymentId: last?.id ?? null } };
}

function appsRoute(c: SimCluster, r: RouteRequest): Reply {
  const rest = r.path.slice('/v2/apps'.length);
  if (rest === '' || rest === '/') {
    if (r.method === 'GET') return listApps(c, r);
    if (r.method === 'POST') return postApp(c, r);
    if (r.method === 'PUT') return putApps(c, r);
    return { status: 405, body: { message: 'Method not allowed' } };
  }
  if (r.method === 'GET') return getApp(c, rest, r.query.getAll('embed'));
  if (r.method === 'POST' && rest.endsWith('/restart')) {
    const id = canonicalAppId(rest.slice(0, -8));
    if (!c.apps.has(id)) return notFound(id);
    const lock = locked(c, id, r.query.get('force') === 'true');
    if (lock) return lock;
    const d = restartApp(c, id);
    return { status: 200, body: { version: d.version, deploymentId: d.id } };
  }
  if (r.method === 'PUT') return putApp(c, r, rest);
  if (r.method === 'DELETE') {
    const id = canonicalAppId(rest);
    if (!c.apps.has(id)) return notFound(id);
    const lock = locked(c, id, r.query.get('force') === 'true');
    if (lock) return lock;
    const d = deleteApp(c, id);
    return { status: 200, body: { version: d.version, deploymentId: d.id } };
  }
  return { status: 405, body: { message: 'Method not allowed' } };
}

function tasksRoute(c: SimCluster, r: RouteRequest): Reply {
  const wanted = r.query.getAll('status');
  const tasks: Json[] = [];
  for (const app of c.apps.values()) {
    for (const t of app.tasks.values()) {
      if (wanted.includes('running') && t.state !== 'TASK_RUNNING' && !wanted.includes('staging')) continue;
      if (wanted.length && !wanted.includes('running') && wanted.includes('staging') && t.state !== 'TASK_STAGING') continue;
      tasks.push(taskJson(t, app.def, c.flavour));
    }
  }
  return { status: 200, body: { tasks } };
}

function infoRoute(c: SimCluster, self: string): Reply {
  const version = c.flavour === '1.4' ? '1.4.13' : '1.10.26';
  const body: Json = {
    name: 'marathon',
    version,
    buildref: c.flavour === '1.4' ? '8d311772' : '0513cddc',
    elected: c.leader === self,
    leader: c.leader,
    frameworkId: c.frameworkId,
    marathon_config: { master: 'zk://127.0.0.1:2181/mesos', hostname: self.split(':')[0], http_port: Number(self.split(':')[1]) },
    zookeeper_config: { zk: 'zk://127.0.0.1:2181/marathon', zk_timeout: 10000 },
    http_config: { http_port: Number(self.split(':')[1]), https_port: 8443 },
  };
  if (c.flavour === '1.4') body.event_subscriber = null;
  return { status: 200, body };
}

/** Dispatches a `/v2/...` request (not `/v2/events`, not `/ping`). */
export function route(c: SimCluster, r: RouteRequest): Reply {
  if (r.path === '/v2/apps' || r.path.startsWith('/v2/apps/')) return appsRoute(c, r);
  if (r.path === '/v2/tasks' && r.method === 'GET') return tasksRoute(c, r);
  if (r.path === '/v2/info' && r.method === 'GET') return infoRoute(c, r.self);
  if (r.path === '/v2/leader') {
    if (r.method === 'DELETE') return { status: 200, body: { message: 'Leadership abdicated' } };
    return c.leader ? { status: 200, body: { leader: c.leader } } : { status: 404, body: { message: 'There is no leader' } };
  }
  if (r.path === '/v2/deployments' && r.method === 'GET') {
    return { status: 200, body: [...c.deployments.values()].map((d) => ({ id: d.id, version: d.version, affectedApps: d.appIds })) };
  }
  return { status: 404, body: { message: `Resource '${r.path}' not found` } };
}
