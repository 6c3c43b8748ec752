/**
 * Marathon-style validation of posted app definitions: 422 `{"message":"Object is not valid",
 * "details":[{"path","errors":[…]}]}` (docs/marathon.md "App and task JSON"). Covers the rules berth's own
 * definitions and the tests exercise; not Marathon's complete rule set.
 */
import type { Flavour } from './model';

type Json = Record<string, unknown>;

export interface Violation {
  path: string;
  errors: string[];
}

// Marathon's PathId segment rule, quoted as Marathon prints it.
const ID_SEGMENT = '^(([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])\\.)*([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])|(\\.|\\.\\.)$';
const ID_SEGMENT_RE = new RegExp(`^(?:${ID_SEGMENT.slice(1, -1)})$`);
const HC_PROTOCOLS = ['HTTP', 'HTTPS', 'TCP', 'COMMAND', 'MESOS_HTTP', 'MESOS_HTTPS', 'MESOS_TCP'];
const NET_MODES = ['host', 'container/bridge', 'container'];
const DOCKER_NETS = ['HOST', 'BRIDGE', 'USER', 'NONE'];

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

class Collector {
  readonly list: Violation[] = [];
  add(path: string, error: string): void {
    const found = this.list.find((v) => v.path === path);
    if (found) found.errors.push(error);
    else this.list.push({ path, errors: [error] });
  }
}

function checkNumber(c: Collector, app: Json, key: string, min: number): void {
  const v = app[key];
  if (v === undefined) return;
  if (typeof v !== 'number' || Number.isNaN(v)) c.add(`/${key}`, 'error.expected.jsnumber');
  else if (v < min) c.add(`/${key}`, `got ${v}, expected ${min} or more`);
}

function checkPort(c: Collector, path: string, v: unknown): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isInteger(v)) c.add(path, 'error.expected.jsnumber');
  else if (v < 0 || v > 65535) c.add(path, `got ${v}, expected between 0 and 65535`);
}

function checkId(c: Collector, id: unknown, requireId: boolean): void {
  if (id === undefined) {
    if (requireId) c.add('/id', 'error.path.missing');
    return;
  }
  if (typeof id !== 'string') return c.add('/id', 'error.expected.jsstring');
  const segments = id.replace(/^\//, '').split('/');
  if (id === '' || id === '/' || segments.some((s) => !ID_SEGMENT_RE.test(s))) {
    c.add('/id', `must fully match regular expression '${ID_SEGMENT}'`);
  }
}

function checkContainer(c: Collector, app: Json, flavour: Flavour): void {
  const container = app.container;
  if (container === undefined || container === null) return;
  if (!isObj(container)) return c.add('/container', 'error.expected.jsobject');
  const type = container.type ?? 'DOCKER';
  if (type !== 'DOCKER' && type !== 'MESOS') c.add('/container/type', 'error.expected.validenumvalue');
  if (type === 'DOCKER') {
    const docker = container.docker;
    if (!isObj(docker)) return c.add('/container/docker', 'not defined');
    if (typeof docker.image !== 'string' || docker.image.trim() === '') c.add('/container/docker/image', 'must not be empty');
    if (docker.network !== undefined && !DOCKER_NETS.includes(String(docker.network))) {
      c.add('/container/docker/network', 'error.expected.validenumvalue');
    }
    if (docker.parameters !== undefined) {
      if (!Array.isArray(docker.parameters)) c.add('/container/docker/parameters', 'error.expected.jsarray');
      else
        docker.parameters.forEach((p, i) => {
          if (!isObj(p) || typeof p.key !== 'string' || typeof p.value !== 'string') {
            c.add(`/container/docker/parameters(${i})`, 'must be an object with string key and value');
          }
        });
    }
  }
  const mappings = (container.portMappings ?? (isObj(container.docker) ? container.docker.portMappings : undefined)) as unknown;
  const base = container.portMappings !== undefined || flavour === '1.10' ? '/container/portMappings' : '/container/docker/portMappings';
  if (mappings !== undefined && mappings !== null) {
    if (!Array.isArray(mappings)) c.add(base, 'error.expected.jsarray');
    else
      mappings.forEach((pm, i) => {
        if (!isObj(pm)) return c.add(`${base}(${i})`, 'error.expected.jsobject');
        checkPort(c, `${base}(${i})/containerPort`, pm.containerPort);
        checkPort(c, `${base}(${i})/hostPort`, pm.hostPort);
        checkPort(c, `${base}(${i})/servicePort`, pm.servicePort);
      });
  }
}

function checkLabelsAndEnv(c: Collector, app: Json): void {
  for (const key of ['labels', 'env'] as const) {
    const v = app[key];
    if (v === undefined) continue;
    if (!isObj(v)) {
      c.add(`/${key}`, 'error.expected.jsobject');
      continue;
    }
    for (const [k, val] of Object.entries(v)) {
      if (typeof val !== 'string' && !(key === 'env' && isObj(val))) c.add(`/${key}(${k})`, 'error.expected.jsstring');
    }
  }
}

function checkHealthChecks(c: Collector, app: Json): void {
  const hcs = app.healthChecks;
  if (hcs === undefined) return;
  if (!Array.isArray(hcs)) return c.add('/healthChecks', 'error.expected.jsarray');
  hcs.forEach((hc, i) => {
    if (!isObj(hc)) return c.add(`/healthChecks(${i})`, 'error.expected.jsobject');
    if (hc.protocol !== undefined && !HC_PROTOCOLS.includes(String(hc.protocol))) {
      c.add(`/healthChecks(${i})/protocol`, 'error.expected.validenumvalue');
    }
  });
}

function checkNetworks(c: Collector, app: Json, flavour: Flavour): void {
  const nets = app.networks;
  if (nets === undefined) return;
  // 1.4 has no `networks` field: Play's reader ignores it (no error), so nothing to check there.
  if (flavour === '1.4') return;
  if (!Array.isArray(nets)) return c.add('/networks', 'error.expected.jsarray');
  nets.forEach((n, i) => {
    if (!isObj(n) || !NET_MODES.includes(String(n.mode ?? 'container'))) c.add(`/networks(${i})/mode`, 'error.expected.validenumvalue');
  });
  if (nets.length > 1 && nets.some((n) => isObj(n) && n.mode !== 'container')) {
    c.add('/networks', 'host networks may not have more than one network');
  }
}

/**
 * Validates one posted app; `requireId` is false for `PUT /v2/apps/:id` (the id comes from the
 * path), `partial` for a PUT on an existing app (fields left out keep their stored values).
 */
export function validateApp(app: unknown, flavour: Flavour, requireId = true, partial = false): Violation[] {
  const c = new Collector();
  if (!isObj(app)) {
    c.add('/', 'error.expected.jsobject');
    return c.list;
  }
  checkId(c, app.id, requireId);
  checkNumber(c, app, 'instances', 0);
  for (const k of ['cpus', 'mem', 'disk', 'gpus', 'backoffSeconds', 'maxLaunchDelaySeconds']) checkNumber(c, app, k, 0);
  if (app.cmd !== undefined && app.cmd !== null && typeof app.cmd !== 'string') c.add('/cmd', 'error.expected.jsstring');
  const hasCmd = typeof app.cmd === 'string' && app.cmd.length > 0;
  const hasArgs = Array.isArray(app.args) && app.args.length > 0;
  if (hasCmd && hasArgs) c.add('/', "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.");
  // A partial update (PUT of an existing app) keeps the stored cmd/container.
  if (!partial && !hasCmd && !hasArgs && (app.container === undefined || app.container === null)) {
    c.add('/', "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.");
  }
  checkContainer(c, app, flavour);
  checkLabelsAndEnv(c, app);
  checkHealthChecks(c, app);
  checkNetworks(c, app, flavour);
  if (app.portDefinitions !== undefined && Array.isArray(app.portDefinitions)) {
    app.portDefinitions.forEach((pd, i) => checkPort(c, `/portDefinitions(${i})/port`, isObj(pd) ? pd.port : pd));
  }
  return c.list;
}
