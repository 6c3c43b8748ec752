/**
 * What berth keeps of a Marathon app: only the fields src/model and src/registry read (labels,
 * ports, networking, health- and readiness-check presence, running deployments, readiness results,
 * version, tasks with their addresses and health). Everything else (env, cmd, fetch URIs,
 * constraints, agent attributes…) is dropped as soon as one app is parsed, so memory follows what is kept and not
 * the size of Marathon's answer. A reader of a new App field adds it here, once.
 */
import type { App, Container, DockerContainer, HealthCheck, HealthCheckResult, Network, PortDefinition, PortMapping, Task } from './types';

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Which labels to keep (berth reads only its own prefix); absent: all of them. */
export type LabelFilter = (key: string) => boolean;

/** Copies the listed keys that are present (null kept: 1.4 writes `null` for unset options). */
function pick<T>(src: Json, keys: readonly string[]): T {
  const out: Json = {};
  for (const k of keys) if (src[k] !== undefined) out[k] = src[k];
  return out as T;
}

const arr = <T>(v: unknown, each: (x: Json) => T): T[] | undefined => (Array.isArray(v) ? v.map((x) => (isObj(x) ? each(x) : (x as T))) : undefined);

function labelsOf(v: unknown, keep?: LabelFilter): Record<string, string> | undefined {
  if (!isObj(v) || !keep) return v as Record<string, string> | undefined;
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) if (keep(k)) out[k] = val as string;
  return out;
}

const portMapping = (m: Json): PortMapping => pick(m, ['containerPort', 'hostPort', 'servicePort', 'protocol', 'name']);
const portDefinition = (p: Json): PortDefinition => pick(p, ['port', 'protocol', 'name']);
const healthCheck = (h: Json): HealthCheck => pick(h, ['protocol', 'path', 'portIndex', 'port']);
const network = (n: Json): Network => pick(n, ['mode', 'name']);
const healthResult = (r: Json): HealthCheckResult => pick(r, ['alive', 'instanceId', 'taskId']);

function container(c: unknown): Container | null | undefined {
  if (!isObj(c)) return c as null | undefined;
  const out: Container = pick(c, ['type']);
  if (c.portMappings !== undefined) out.portMappings = c.portMappings === null ? null : arr(c.portMappings, portMapping);
  if (isObj(c.docker)) {
    const d = c.docker;
    const docker: DockerContainer = pick(d, ['network']);
    if (d.portMappings !== undefined) docker.portMappings = d.portMappings === null ? null : arr(d.portMappings, portMapping);
    if (d.parameters !== undefined) docker.parameters = arr(d.parameters, (p) => pick(p, ['key', 'value']));
    out.docker = docker;
  }
  return out;
}

function ipAddress(v: unknown): App['ipAddress'] {
  if (!isObj(v)) return v as null | undefined;
  const out: NonNullable<App['ipAddress']> = pick(v, ['networkName']);
  const ports = isObj(v.discovery) ? v.discovery.ports : undefined;
  if (isObj(v.discovery)) out.discovery = ports === undefined ? {} : { ports: arr(ports, (p) => pick(p, ['number', 'name', 'protocol'])) };
  return out;
}

/** The kept part of one task (already checked by `checkApp`). */
export function projectTask(t: Json): Task {
  const out = pick<Task>(t, ['id', 'host', 'ports', 'ipAddresses', 'state']);
  if (Array.isArray(t.ipAddresses)) out.ipAddresses = arr(t.ipAddresses, (i) => pick(i, ['ipAddress', 'protocol']));
  if (Array.isArray(t.healthCheckResults)) out.healthCheckResults = arr(t.healthCheckResults, healthResult);
  else if (t.healthCheckResults !== undefined) out.healthCheckResults = t.healthCheckResults as unknown as undefined;
  return out;
}

/** The kept part of one app (already checked by `checkApp`). */
export function projectApp(a: App, keepLabel?: LabelFilter): App {
  const src = a as unknown as Json;
  const out = pick<App>(src, ['id', 'instances', 'ports', 'version']);
  if (src.labels !== undefined) out.labels = labelsOf(src.labels, keepLabel);
  if (src.container !== undefined) out.container = container(src.container);
  if (src.portDefinitions !== undefined) out.portDefinitions = arr(src.portDefinitions, portDefinition);
  if (src.ipAddress !== undefined) out.ipAddress = ipAddress(src.ipAddress);
  if (src.networks !== undefined) out.networks = arr(src.networks, network);
  if (src.healthChecks !== undefined) out.healthChecks = arr(src.healthChecks, healthCheck);
  if (isObj(src.versionInfo)) out.versionInfo = pick(src.versionInfo, ['lastConfigChangeAt']);
  if (Array.isArray(src.tasks)) out.tasks = src.tasks.map((t) => projectTask(t as Json));
  // Readiness (docs/marathon.md "Readiness checks"): whether there are checks, whether a deployment
  // runs, and the running deployment's per-task results.
  if (Array.isArray(src.readinessChecks)) out.readinessChecks = arr(src.readinessChecks, () => ({}));
  if (Array.isArray(src.deployments)) out.deployments = arr(src.deployments, (d) => pick(d, ['id']));
  if (Array.isArray(src.readinessCheckResults)) out.readinessCheckResults = arr(src.readinessCheckResults, (r) => pick(r, ['taskId', 'ready']));
  return out;
}
