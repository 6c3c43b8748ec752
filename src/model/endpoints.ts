/**
 * Where a task is reached (docs/labels.md): fixed IP → that IP and the chosen port; container network →
 * the task's first `ipAddresses` entry and the container port; host/bridge → the agent `host` (resolved
 * to an address by an injected, cached lookup) and `task.ports[i]` for the chosen port's index.
 */
import { isAgentHost, isPort, isTaskId, selfSocket, type AddressPolicy } from '../rules';
import type { ServiceSpec } from './spec';
import type { TaskRecord } from './tasks';
import type { Endpoint, Service } from './types';
import { checkIp, isIpLiteral } from './validate';

/** What `serviceOf` needs from the spec options: berth's own sockets are never an endpoint. */
export interface EndpointOptions {
  addresses?: AddressPolicy;
}

/** Cached name → address lookup, filled outside the pure core (see registry/resolver). */
export type HostLookup = (host: string) => string | undefined;

/** Where one serving task is reached, or null when it cannot be reached yet (no address or port). */
export function endpointOf(spec: ServiceSpec, task: TaskRecord, lookup: HostLookup, opts: EndpointOptions = {}): Endpoint | null {
  let address: string | undefined;
  let port: number | undefined;
  switch (spec.network) {
    case 'fixed':
      address = spec.fixedIp ?? undefined;
      port = spec.servicePort;
      break;
    case 'container':
      address = firstValidIp(task.ipAddresses);
      port = spec.servicePort;
      break;
    case 'host': {
      address = task.host === '' ? undefined : isIpLiteral(task.host) ? normaliseIp(task.host) : lookup(task.host);
      port = spec.portIndex === null ? undefined : task.ports[spec.portIndex];
      break;
    }
  }
  if (address === undefined || !isPort(port)) return null;
  // Task ids and agent names come from Marathon, not from us: keep them to a safe alphabet too,
  // since consumers may print them (Nginx comments, API, logs).
  if (!isTaskId(task.taskId)) return null;
  // Never proxy or publish berth's own API, DNS or database socket, whatever the source (the
  // problem is raised by the parser when it sees the address; here it is only dropped).
  if (opts.addresses && selfSocket(address, port, opts.addresses)) return null;
  return { taskId: task.taskId, address, port, host: isAgentHost(task.host) ? task.host : '' };
}

/** Host names (not IP literals) the lookup must know before `endpointOf` runs for these tasks. */
export function hostsToResolve(spec: ServiceSpec, tasks: Iterable<TaskRecord>): string[] {
  if (spec.network !== 'host') return [];
  const out: string[] = [];
  for (const t of tasks) if (t.serving && t.host !== '' && !isIpLiteral(t.host)) out.push(t.host);
  return out;
}

/** The published service for a spec and its tasks: serving, reachable tasks only, sorted by task id. */
export function serviceOf(spec: ServiceSpec, tasks: Iterable<TaskRecord>, lookup: HostLookup, opts: EndpointOptions = {}): Service {
  const endpoints: Endpoint[] = [];
  for (const t of tasks) {
    if (!t.serving) continue;
    const e = endpointOf(spec, t, lookup, opts);
    if (e) endpoints.push(e);
  }
  endpoints.sort((a, b) => (a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : 0));
  return serviceWith(spec, endpoints);
}

/** The published service for a spec with endpoints already chosen (also what the store reloads). */
export function serviceWith(spec: ServiceSpec, endpoints: Endpoint[]): Service {
  return {
    env: spec.env,
    appId: spec.appId,
    // Only per-port services carry the key, so main services look as they always did.
    ...(spec.port !== undefined ? { port: spec.port } : {}),
    domains: spec.domains,
    proxy: spec.proxy,
    listen: spec.listen,
    dns: spec.dns,
    portName: spec.portName,
    servicePort: spec.servicePort,
    fixedIp: spec.fixedIp,
    ...(spec.options !== undefined ? { options: spec.options } : {}),
    endpoints,
    version: spec.version,
    ...(spec.tls !== undefined ? { tls: spec.tls } : {}),
    ...(spec.hsts !== undefined ? { hsts: spec.hsts } : {}),
    ...(spec.paths !== undefined ? { paths: spec.paths } : {}),
    ...(spec.pathStrip !== undefined ? { pathStrip: spec.pathStrip } : {}),
  };
}

function firstValidIp(ips: string[]): string | undefined {
  for (const ip of ips) {
    const c = checkIp(ip);
    if (c.ok) return c.value;
  }
  return undefined;
}

function normaliseIp(s: string): string {
  const c = checkIp(s);
  return c.ok ? c.value : s;
}
