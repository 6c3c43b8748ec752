/**
 * App definition as posted (1.4 or 1.5+ fields) → canonical 1.5+ shape with Marathon's defaults.
 * Accepting both input shapes lets one test fixture drive both flavours, as Marathon 1.5–1.6 also
 * accepted the deprecated 1.4 fields.
 */
import { type AppDefinition, canonicalAppId } from './model';

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Allocates Marathon service ports (10000+) for port 0 requests. */
export interface ServicePortAllocator {
  next(): number;
}

/** Network mode of a canonical app: `host`, `container/bridge` or `container`. */
export function networkMode(def: Json): string {
  const nets = def.networks as Json[] | undefined;
  return (nets?.[0]?.mode as string | undefined) ?? 'host';
}

function networksOf(input: Json): Json[] {
  if (Array.isArray(input.networks) && input.networks.length > 0) return input.networks as Json[];
  const docker = isObj(input.container) && isObj(input.container.docker) ? input.container.docker : undefined;
  const ipAddress = isObj(input.ipAddress) ? input.ipAddress : undefined;
  const legacy = docker?.network as string | undefined;
  if (legacy === 'BRIDGE') return [{ mode: 'container/bridge' }];
  if (legacy === 'USER' || ipAddress) {
    const name = ipAddress?.networkName as string | undefined;
    return [name ? { mode: 'container', name } : { mode: 'container' }];
  }
  return [{ mode: 'host' }];
}

function portMappingsOf(input: Json, alloc: ServicePortAllocator, mode: string): Json[] {
  const container = isObj(input.container) ? input.container : {};
  const docker = isObj(container.docker) ? container.docker : {};
  const raw = (container.portMappings ?? docker.portMappings ?? []) as Json[];
  return raw.map((pm) => {
    const out: Json = {
      containerPort: pm.containerPort ?? 0,
      servicePort: pm.servicePort && pm.servicePort !== 0 ? pm.servicePort : alloc.next(),
      protocol: pm.protocol ?? 'tcp',
      labels: pm.labels ?? {},
    };
    // Bridge mappings always have a host port (0 = assign one); container-mode ones only if asked.
    if (pm.hostPort !== undefined || mode === 'container/bridge') out.hostPort = pm.hostPort ?? 0;
    if (pm.name !== undefined) out.name = pm.name;
    return out;
  });
}

function portDefinitionsOf(input: Json, alloc: ServicePortAllocator): Json[] {
  let raw: Json[];
  if (Array.isArray(input.portDefinitions)) raw = input.portDefinitions as Json[];
  else if (Array.isArray(input.ports)) raw = (input.ports as number[]).map((port) => ({ port }));
  else raw = [{ port: 0 }]; // Marathon's default for host networking: one port.
  return raw.map((pd) => {
    const out: Json = {
      port: pd.port && pd.port !== 0 ? pd.port : alloc.next(),
      protocol: pd.protocol ?? 'tcp',
      labels: pd.labels ?? {},
    };
    if (pd.name !== undefined) out.name = pd.name;
    return out;
  });
}

function containerOf(input: Json, portMappings: Json[], mode: string): Json | undefined {
  if (!isObj(input.container)) return undefined;
  const c = input.container;
  const out: Json = { type: c.type ?? 'DOCKER', volumes: c.volumes ?? [] };
  if (isObj(c.docker)) {
    const d = c.docker;
    out.docker = {
      image: d.image,
      privileged: d.privileged ?? false,
      parameters: d.parameters ?? [],
      forcePullImage: d.forcePullImage ?? false,
    };
  }
  if (mode !== 'host') out.portMappings = portMappings;
  return out;
}

/** Canonicalises a (validated) app definition. `previous` supplies fields a partial PUT leaves out. */
export function normalizeApp(input: Json, version: string, alloc: ServicePortAllocator, previous?: AppDefinition): AppDefinition {
  const merged: Json = previous ? { ...denormalizeForMerge(previous), ...input } : input;
  // A PUT in 1.4 terms (docker.network / ipAddress) replaces the stored networks.
  if (previous && input.networks === undefined && (input.container !== undefined || input.ipAddress !== undefined)) {
    delete merged.networks;
  }
  const networks = networksOf(merged);
  const mode = (networks[0].mode as string) ?? 'host';
  const portMappings = portMappingsOf(merged, alloc, mode);
  const def: Json = {
    id: canonicalAppId(String(merged.id)),
    ...(merged.cmd !== undefined && merged.cmd !== null ? { cmd: merged.cmd } : {}),
    ...(Array.isArray(merged.args) && merged.args.length ? { args: merged.args } : {}),
    ...(merged.user !== undefined ? { user: merged.user } : {}),
    env: merged.env ?? {},
    instances: merged.instances ?? 1,
    cpus: merged.cpus ?? 1,
    mem: merged.mem ?? 128,
    disk: merged.disk ?? 0,
    gpus: merged.gpus ?? 0,
    executor: merged.executor ?? '',
    constraints: merged.constraints ?? [],
    fetch:
      merged.fetch ?? (Array.isArray(merged.uris) ? (merged.uris as string[]).map((uri) => ({ uri, extract: true, executable: false, cache: false })) : []),
    backoffSeconds: merged.backoffSeconds ?? 1,
    backoffFactor: merged.backoffFactor ?? 1.15,
    maxLaunchDelaySeconds: merged.maxLaunchDelaySeconds ?? 3600,
    healthChecks: merged.healthChecks ?? [],
    readinessChecks: merged.readinessChecks ?? [],
    dependencies: merged.dependencies ?? [],
    upgradeStrategy: merged.upgradeStrategy ?? { minimumHealthCapacity: 1, maximumOverCapacity: 1 },
    labels: merged.labels ?? {},
    killSelection: merged.killSelection ?? 'YOUNGEST_FIRST',
    unreachableStrategy: merged.unreachableStrategy ?? { inactiveAfterSeconds: 0, expungeAfterSeconds: 0 },
    taskKillGracePeriodSeconds: merged.taskKillGracePeriodSeconds ?? null,
    secrets: merged.secrets ?? {},
    networks,
    requirePorts: merged.requirePorts ?? false,
    version,
  };
  const container = containerOf(merged, portMappings, mode);
  if (container) def.container = container;
  if (mode === 'host') def.portDefinitions = portDefinitionsOf(merged, alloc);
  else def.portDefinitions = [];
  if (Array.isArray(merged.acceptedResourceRoles)) def.acceptedResourceRoles = merged.acceptedResourceRoles;
  return def as AppDefinition;
}

/** The canonical form, minus fields that must be recomputed when merged with a partial update. */
function denormalizeForMerge(prev: AppDefinition): Json {
  const { version: _v, ...rest } = prev;
  return rest;
}
