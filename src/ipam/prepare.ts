/**
 * Pure: read and fill a Marathon app definition for `/v1/apps/prepare` (docs/ipam.md). `berth.ip=auto`
 * or `auto:<pool>` asks for an allocation; the result carries the literal IP label and the Docker
 * parameters `net` and `ip` (`ip6` for IPv6), which Mesos passes to `docker run` as `--net`/`--ip`.
 */
import { BerthError } from '../errors';
import { DOCKER_IP_PARAMETER, IP_AUTO } from '../model/labels';
import { checkAppId } from './validate';
import type { Allocation, Pool } from './types';

export type IpRequest = { kind: 'auto'; pool: string | null } | { kind: 'none' };

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function invalid(message: string, details: Json = {}): BerthError {
  return new BerthError('INVALID_APP_DEFINITION', message, details);
}

/** Checks the parts of the definition prepare relies on; returns the app id and what it asks for. */
export function readIpRequest(def: unknown, ipLabel: string): { appId: string; request: IpRequest } {
  if (!isObject(def)) throw invalid('the body must be a Marathon app definition (a JSON object)');
  const appId = checkAppId(def.id);
  const labels = def.labels === undefined ? {} : def.labels;
  if (!isObject(labels)) throw invalid('labels must be an object of strings');
  const value = labels[ipLabel];
  if (value === undefined) return { appId, request: { kind: 'none' } };
  if (typeof value !== 'string') throw invalid(`label ${ipLabel} must be a string`);
  const m = new RegExp(`^${IP_AUTO}(?::(.+))?$`).exec(value.trim());
  if (!m) return { appId, request: { kind: 'none' } }; // a literal IP: nothing to allocate
  const instances = def.instances === undefined ? 1 : def.instances;
  // Docker gives every instance the same --ip; a fixed-IP app runs one instance (docs/labels.md).
  if (typeof instances !== 'number' || instances > 1) {
    throw invalid(`a fixed-IP app runs at most 1 instance (instances is ${JSON.stringify(instances)})`, { field: 'instances' });
  }
  const container = def.container;
  if (!isObject(container) || container.type !== 'DOCKER' || !isObject(container.docker)) {
    throw invalid('a fixed IP needs a Docker container: container.type "DOCKER" with container.docker', { field: 'container' });
  }
  const params = container.docker.parameters;
  if (params !== undefined && !(Array.isArray(params) && params.every((p) => isObject(p) && typeof p.key === 'string'))) {
    throw invalid('container.docker.parameters must be a list of {key, value}', { field: 'container.docker.parameters' });
  }
  return { appId, request: { kind: 'auto', pool: m[1] ?? null } };
}

type Params = Array<{ key: string; value: unknown }>;

const paramsOf = (def: Json): Params => (def.container as { docker: { parameters?: Params } }).docker.parameters ?? [];

/** The Docker network the app will join: the pool's, else the app's own `net` parameter. Checked before allocating. */
export function dockerNetworkFor(def: Json, pool: Pool): string {
  const existingNet = paramsOf(def).find((p) => p.key === 'net')?.value;
  const net = pool.dockerNetwork ?? (typeof existingNet === 'string' ? existingNet : null);
  if (!net) {
    throw invalid(`pool ${pool.name} has no dockerNetwork and the app sets no "net" parameter: Docker would not attach the fixed IP`, { pool: pool.name });
  }
  return net;
}

/** A copy of `def` with the literal IP label and the Docker `net`/`ip` parameters set. */
export function applyAllocation(def: Json, ipLabel: string, pool: Pool, allocation: Allocation): Json {
  const container = def.container as Json & { docker: Json };
  const ipKey = pool.family === 6 ? 'ip6' : DOCKER_IP_PARAMETER;
  const old = paramsOf(def);
  const net = dockerNetworkFor(def, pool);
  // Marathon keeps parameters in order and Docker applies the last --net/--ip: replace, don't append.
  const parameters = [
    ...old.filter((p) => p.key !== 'net' && p.key !== 'ip' && p.key !== 'ip6'),
    { key: 'net', value: net },
    { key: ipKey, value: allocation.ip },
  ];
  return {
    ...def,
    labels: { ...((def.labels as Json | undefined) ?? {}), [ipLabel]: allocation.ip },
    container: { ...container, docker: { ...container.docker, parameters } },
  };
}
