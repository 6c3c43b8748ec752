/**
 * Wire JSON for apps and tasks, per flavour (docs/marathon.md "App and task JSON"). Field order follows
 * Marathon's writers so captures look like the real thing.
 */
import type { AppDefinition, Flavour, HealthResult, SimApp, SimTask } from './model';
import { isActive } from './model';
import { networkMode } from './normalize';

type Json = Record<string, unknown>;

/** What `embed=` asked for (prefixes `apps.`, `app.`, `group.apps.` stripped). */
export interface Embed {
  tasks: boolean;
  counts: boolean;
  deployments: boolean;
  readiness: boolean;
  lastTaskFailure: boolean;
  taskStats: boolean;
}

export const NO_EMBED: Embed = { tasks: false, counts: false, deployments: false, readiness: false, lastTaskFailure: false, taskStats: false };

/** Resolves `embed` values like Marathon's InfoEmbedResolver; unknown values are ignored. */
export function parseEmbed(values: string[]): Embed {
  const e: Embed = { ...NO_EMBED };
  for (const raw of values) {
    const v = raw.replace(/^(group\.apps\.|apps\.|app\.)/, '');
    if (v === 'tasks') {
      e.tasks = true;
      e.deployments = true;
    } // deprecated coupling in Marathon
    else if (v === 'failures') {
      e.tasks = true;
      e.lastTaskFailure = true;
      e.deployments = true;
    } else if (v in e) (e as unknown as Record<string, boolean>)[v] = true;
  }
  return e;
}

function healthCheckJson(hc: Json, flavour: Flavour): Json {
  const out: Json = {
    gracePeriodSeconds: hc.gracePeriodSeconds ?? 300,
    intervalSeconds: hc.intervalSeconds ?? 60,
    timeoutSeconds: hc.timeoutSeconds ?? 20,
    maxConsecutiveFailures: hc.maxConsecutiveFailures ?? 3,
    protocol: hc.protocol ?? 'HTTP',
  };
  if (hc.port !== undefined) out.port = hc.port;
  else out.portIndex = hc.portIndex ?? 0;
  if ((out.protocol as string).includes('HTTP')) out.path = hc.path ?? '/';
  if (hc.command !== undefined) out.command = hc.command;
  out.ignoreHttp1xx = hc.ignoreHttp1xx ?? false;
  if (flavour === '1.10') {
    out.delaySeconds = hc.delaySeconds ?? 15;
    out.ipProtocol = hc.ipProtocol ?? 'IPv4';
  }
  return out;
}

/** The app's health checks in the flavour's JSON format (also used in health events). */
export function healthChecksJson(def: AppDefinition, flavour: Flavour): Json[] {
  return ((def.healthChecks as Json[]) ?? []).map((hc) => healthCheckJson(hc, flavour));
}

function servicePorts(def: AppDefinition): number[] {
  const container = def.container as Json | undefined;
  const pms = (container?.portMappings as Json[] | undefined) ?? [];
  if (networkMode(def) !== 'host') return pms.map((p) => p.servicePort as number);
  return ((def.portDefinitions as Json[]) ?? []).map((p) => p.port as number);
}

function healthResultJson(h: HealthResult, t: SimTask, flavour: Flavour): Json {
  if (flavour === '1.4') {
    return {
      alive: h.alive,
      consecutiveFailures: h.consecutiveFailures,
      firstSuccess: h.firstSuccess,
      lastFailure: h.lastFailure,
      lastSuccess: h.lastSuccess,
      lastFailureCause: h.lastFailureCause,
      instanceId: t.instanceId,
    };
  }
  // RAML writers drop None fields and write the instance id with Instance.Id.toString.
  const out: Json = { alive: h.alive, consecutiveFailures: h.consecutiveFailures };
  if (h.firstSuccess) out.firstSuccess = h.firstSuccess;
  if (h.lastFailure) out.lastFailure = h.lastFailure;
  if (h.lastSuccess) out.lastSuccess = h.lastSuccess;
  if (h.lastFailureCause) out.lastFailureCause = h.lastFailureCause;
  out.instanceId = `instance [${t.instanceId}]`;
  return out;
}

/** One task as `/v2/tasks` and `embed=apps.tasks` show it. */
export function taskJson(t: SimTask, def: AppDefinition, flavour: Flavour): Json {
  const sp = servicePorts(def);
  const results = t.health ? [healthResultJson(t.health, t, flavour)] : [];
  if (flavour === '1.4') {
    const out: Json = { id: t.id, state: t.state };
    if (isActive(t)) Object.assign(out, { startedAt: t.startedAt, stagedAt: t.stagedAt, ports: t.ports, version: t.version });
    if (t.ipAddresses.length) out.ipAddresses = t.ipAddresses;
    Object.assign(out, { appId: t.appId, slaveId: t.slaveId, host: t.host });
    if (sp.length) out.servicePorts = sp;
    if (results.length) out.healthCheckResults = results;
    return out;
  }
  const out: Json = {
    appId: t.appId,
    healthCheckResults: results,
    host: t.host,
    id: t.id,
    ipAddresses: t.ipAddresses,
    ports: t.ports,
    servicePorts: sp,
    slaveId: t.slaveId,
    state: t.state,
    stagedAt: t.stagedAt,
  };
  if (t.startedAt) out.startedAt = t.startedAt;
  Object.assign(out, { version: t.version, localVolumes: [], role: '*' });
  return out;
}

function counts(app: SimApp): Json {
  let staged = 0,
    running = 0,
    healthy = 0,
    unhealthy = 0;
  for (const t of app.tasks.values()) {
    if (t.state === 'TASK_STAGING' || t.state === 'TASK_STARTING') staged++;
    if (t.state === 'TASK_RUNNING') running++;
    if (t.health?.alive === true) healthy++;
    if (t.health?.alive === false) unhealthy++;
  }
  return { tasksStaged: staged, tasksRunning: running, tasksHealthy: healthy, tasksUnhealthy: unhealthy };
}

function container14(def: AppDefinition): Json | null {
  const c = def.container as Json | undefined;
  if (!c) return null;
  const mode = networkMode(def);
  const out: Json = { type: c.type, volumes: c.volumes };
  if (c.docker) {
    const d = c.docker as Json;
    const network = mode === 'host' ? 'HOST' : mode === 'container/bridge' ? 'BRIDGE' : 'USER';
    out.docker = {
      image: d.image,
      network,
      ...(mode !== 'host' ? { portMappings: c.portMappings } : {}),
      privileged: d.privileged,
      parameters: d.parameters,
      forcePullImage: d.forcePullImage,
    };
  }
  return out;
}

function app14(def: AppDefinition): Json {
  const mode = networkMode(def);
  const net = (def.networks as Json[])[0];
  const fetch = def.fetch as Json[];
  const out: Json = {
    id: def.id,
    cmd: def.cmd ?? null,
    args: def.args ?? null,
    user: def.user ?? null,
    env: def.env,
    instances: def.instances,
    cpus: def.cpus,
    mem: def.mem,
    disk: def.disk,
    gpus: def.gpus,
    executor: def.executor,
    constraints: def.constraints,
    uris: fetch.map((f) => f.uri),
    fetch,
    storeUrls: [],
    backoffSeconds: def.backoffSeconds,
    backoffFactor: def.backoffFactor,
    maxLaunchDelaySeconds: def.maxLaunchDelaySeconds,
    container: container14(def),
    healthChecks: healthChecksJson(def, '1.4'),
    readinessChecks: def.readinessChecks,
    dependencies: def.dependencies,
    upgradeStrategy: def.upgradeStrategy,
    labels: def.labels,
    ipAddress: mode === 'container' ? { groups: [], labels: {}, discovery: { ports: [] }, networkName: net.name ?? null } : null,
    version: def.version,
    residency: null,
    secrets: def.secrets,
    taskKillGracePeriodSeconds: def.taskKillGracePeriodSeconds,
    unreachableStrategy: { inactiveAfterSeconds: 300, expungeAfterSeconds: 600 },
    killSelection: def.killSelection,
  };
  if (mode !== 'container') {
    // 1.4 bridge apps list their mappings' service ports as `ports`/`portDefinitions`.
    const pds = mode === 'host' ? (def.portDefinitions as Json[]) : servicePorts(def).map((port) => ({ port, protocol: 'tcp', labels: {} }));
    Object.assign(out, { ports: pds.map((p) => p.port), portDefinitions: pds, requirePorts: def.requirePorts });
  }
  if (Array.isArray(def.acceptedResourceRoles) && def.acceptedResourceRoles.length) out.acceptedResourceRoles = def.acceptedResourceRoles;
  return out;
}

function app110(def: AppDefinition): Json {
  const out: Json = { id: def.id, backoffFactor: def.backoffFactor, backoffSeconds: def.backoffSeconds };
  if (def.cmd !== undefined) out.cmd = def.cmd;
  if (def.args !== undefined) out.args = def.args;
  if (def.container) out.container = def.container;
  Object.assign(out, {
    cpus: def.cpus,
    disk: def.disk,
    env: def.env,
    executor: def.executor,
    instances: def.instances,
    labels: def.labels,
    maxLaunchDelaySeconds: def.maxLaunchDelaySeconds,
    mem: def.mem,
    gpus: def.gpus,
    networks: def.networks,
    portDefinitions: def.portDefinitions,
    requirePorts: def.requirePorts,
    upgradeStrategy: def.upgradeStrategy,
    version: def.version,
    killSelection: def.killSelection,
    unreachableStrategy: def.unreachableStrategy,
    healthChecks: healthChecksJson(def, '1.10'),
    fetch: def.fetch,
    constraints: def.constraints,
    role: '*',
  });
  if (def.user !== undefined) out.user = def.user;
  // Only apps that have readiness checks show them (apps without keep their former JSON).
  if (Array.isArray(def.readinessChecks) && def.readinessChecks.length > 0) out.readinessChecks = def.readinessChecks;
  if (def.taskKillGracePeriodSeconds !== null) out.taskKillGracePeriodSeconds = def.taskKillGracePeriodSeconds;
  if (Array.isArray(def.acceptedResourceRoles)) out.acceptedResourceRoles = def.acceptedResourceRoles;
  return out;
}

/** The app definition alone (api_post_event.appDefinition, deployment plans). */
export function appDefinitionJson(def: AppDefinition, flavour: Flavour): Json {
  return flavour === '1.4' ? app14(def) : app110(def);
}

/** `readinessCheckResults`: one per task that has a verdict in the running deployment (and check). */
function readinessResults(app: SimApp): Json[] {
  const checks = Array.isArray(app.def.readinessChecks) ? (app.def.readinessChecks as Json[]) : [];
  const out: Json[] = [];
  for (const t of app.tasks.values()) {
    if (t.ready === null) continue;
    for (const c of checks) out.push({ name: c.name ?? 'readinessCheck', taskId: t.id, ready: t.ready, lastResponse: null });
  }
  return out;
}

/** One app as `/v2/apps` shows it, with what `embed` asks for. */
export function appJson(app: SimApp, flavour: Flavour, embed: Embed): Json {
  const out = appDefinitionJson(app.def, flavour);
  out.versionInfo = app.versionInfo;
  if (embed.counts) Object.assign(out, counts(app));
  if (embed.deployments) out.deployments = [...app.deployments].map((id) => ({ id }));
  if (embed.readiness) out.readinessCheckResults = readinessResults(app);
  if (embed.tasks) out.tasks = [...app.tasks.values()].map((t) => taskJson(t, app.def, flavour));
  if (embed.lastTaskFailure) {
    /* no failures recorded: Marathon omits the field */
  }
  return out;
}

// Definitions change only by replacement (a new version is a new object): serialise each once.
const defText = new WeakMap<AppDefinition, { flavour: Flavour; text: string }>();

/** `appJson` as JSON text, with the definition part cached: `/v2/apps` at 10,000 apps stays fast. */
export function appJsonText(app: SimApp, flavour: Flavour, embed: Embed): string {
  let cached = defText.get(app.def);
  if (!cached || cached.flavour !== flavour) {
    cached = { flavour, text: JSON.stringify(appDefinitionJson(app.def, flavour)).slice(0, -1) };
    defText.set(app.def, cached);
  }
  const extra: Json = { versionInfo: app.versionInfo };
  if (embed.counts) Object.assign(extra, counts(app));
  if (embed.deployments) extra.deployments = [...app.deployments].map((id) => ({ id }));
  if (embed.readiness) extra.readinessCheckResults = readinessResults(app);
  if (embed.tasks) extra.tasks = [...app.tasks.values()].map((t) => taskJson(t, app.def, flavour));
  return `${cached.text},${JSON.stringify(extra).slice(1)}`;
}
