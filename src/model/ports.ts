/**
 * The ports an app declares and the network mode that decides how its tasks are reached
 * (docs/labels.md "Where a task is reached"; docs/marathon.md "App and task JSON").
 */
import type { App } from '../marathon/types';

/** One declared port, in Marathon's order (the index matches `task.ports[i]` for host/bridge apps). */
export interface DeclaredPort {
  /** Container port (portMappings), or the port (portDefinitions / 1.4 `ports`). May be 0 (dynamic). */
  number: number;
  name: string | null;
  /** Marathon's service port, when declared. */
  servicePort: number | null;
}

/** `fixed`: berth.ip / Docker `--ip`; `container`: IP-per-task; `host`: the agent's address + host port. */
export type NetworkMode = 'fixed' | 'container' | 'host';

const num = (v: unknown): number => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : 0);
const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);

/**
 * The app's declared ports. Mappings win over definitions: 1.5+ `container.portMappings`, then 1.4
 * `container.docker.portMappings`, then 1.4 `ipAddress.discovery.ports`, then `portDefinitions`,
 * then the bare 1.4 `ports` list.
 */
export function declaredPorts(app: App): DeclaredPort[] {
  const mappings = app.container?.portMappings ?? app.container?.docker?.portMappings;
  if (Array.isArray(mappings) && mappings.length > 0) {
    return mappings.map((m) => ({ number: num(m.containerPort), name: str(m.name), servicePort: num(m.servicePort) || null }));
  }
  const discovery = app.ipAddress?.discovery?.ports;
  if (Array.isArray(discovery) && discovery.length > 0) {
    return discovery.map((p) => ({ number: num(p.number), name: str(p.name), servicePort: null }));
  }
  if (Array.isArray(app.portDefinitions) && app.portDefinitions.length > 0) {
    return app.portDefinitions.map((p) => ({ number: num(p.port), name: str(p.name), servicePort: num(p.port) || null }));
  }
  if (Array.isArray(app.ports) && app.ports.length > 0) {
    return app.ports.map((p) => ({ number: num(p), name: null, servicePort: num(p) || null }));
  }
  return [];
}

/** Whether the app is container-networked (IP-per-task): 1.4 `ipAddress`/docker `USER`, 1.5+ `networks[0].mode`. */
export function isContainerNetworked(app: App): boolean {
  const first = app.networks?.[0];
  if (first) return first.mode === 'container';
  if (app.container?.docker?.network === 'USER') return true;
  // 1.4 writes `ipAddress: null` when unset; `{}` is the documented "use the container IP" workaround.
  return app.ipAddress !== undefined && app.ipAddress !== null;
}

/** Every Docker `{"key":"ip"}` parameter value (normally zero or one; the parser refuses disagreeing ones). */
export function dockerIpParameters(app: App): string[] {
  const params = app.container?.docker?.parameters;
  if (!Array.isArray(params)) return [];
  return params.filter((p) => p && p.key === 'ip' && typeof p.value === 'string').map((p) => p.value);
}
