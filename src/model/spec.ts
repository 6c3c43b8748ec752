/**
 * Labels → ServiceSpec, or the list of problems that make berth skip the app (DESIGN §2).
 * Pure: takes a Marathon app and options, returns plain data.
 */
import type { App } from '../marathon/types';
import { IP_AUTO, labelNames, type LabelNames } from './labels';
import { declaredPorts, dockerIpParameters, isContainerNetworked, type NetworkMode } from './ports';
import { PROBLEM_CODES as C, problem } from './problems';
import type { DnsMode, Problem, ProxyMode } from './types';
import { checkDomainList, checkEnv, checkIp, checkOneOf, checkPort, checkPortName } from './validate';

/** What an app asks berth to publish; everything but the endpoints of a `Service`. */
export interface ServiceSpec {
  env: string;
  appId: string;
  domains: string[];
  proxy: ProxyMode;
  listen: number | null;
  dns: DnsMode;
  portName: string | null;
  servicePort: number;
  /** Index of the chosen port in the declared ports (for `task.ports[i]`); null when not declared. */
  portIndex: number | null;
  fixedIp: string | null;
  network: NetworkMode;
  version: string;
  /** Marathon health checks exist: tasks join only after a healthy result. */
  healthChecked: boolean;
  instances: number;
  /** For "older app wins": Marathon's last config change, else the version. */
  configChangedAt: string;
}

/** Options the parser needs from configuration. */
export interface SpecOptions {
  labelPrefix?: string;
  defaultEnv: string;
}

/** `ignored`: no `berth.domain`, not berth's business. */
export type SpecResult =
  | { kind: 'ignored' }
  | { kind: 'spec'; spec: ServiceSpec }
  | { kind: 'invalid'; env: string | null; problems: Problem[] };

const PROXY_MODES: readonly ProxyMode[] = ['http', 'tcp', 'none'];
const DNS_MODES: readonly DnsMode[] = ['direct', 'proxy', 'none'];

const namesCache = new Map<string, LabelNames>();
function namesFor(prefix: string): LabelNames {
  let n = namesCache.get(prefix);
  if (!n) namesCache.set(prefix, (n = labelNames(prefix)));
  return n;
}

/** Parse one app's labels into a spec, or every problem found (all are reported at once). */
export function parseApp(app: App, opts: SpecOptions): SpecResult {
  const names = namesFor(opts.labelPrefix ?? 'berth.');
  const labels = app.labels ?? {};
  const get = (k: string): string | undefined => (typeof labels[k] === 'string' ? labels[k] : undefined);
  const domainRaw = get(names.domain);
  if (domainRaw === undefined) return { kind: 'ignored' };

  const appId = app.id;
  const problems: Problem[] = [];
  const fail = (code: (typeof C)[keyof typeof C], label: string, value: string | undefined, reason: string): void => {
    problems.push(problem(code, appId, null, `${label}: ${reason}`, { label, value: clip(value) }));
  };

  const domains = checkDomainList(domainRaw);
  if (!domains.ok) fail(C.LABEL_DOMAIN_INVALID, names.domain, domainRaw, domains.reason);

  let env = opts.defaultEnv;
  const envRaw = get(names.env);
  if (envRaw !== undefined) {
    const e = checkEnv(envRaw);
    if (e.ok) env = e.value;
    else fail(C.LABEL_ENV_INVALID, names.env, envRaw, e.reason);
  }

  let proxy: ProxyMode = 'http';
  const proxyRaw = get(names.proxy);
  if (proxyRaw !== undefined) {
    const p = checkOneOf(proxyRaw, PROXY_MODES);
    if (p.ok) proxy = p.value;
    else fail(C.LABEL_PROXY_INVALID, names.proxy, proxyRaw, p.reason);
  }

  let dns: DnsMode = 'direct';
  const dnsRaw = get(names.dns);
  if (dnsRaw !== undefined) {
    const d = checkOneOf(dnsRaw, DNS_MODES);
    if (d.ok) dns = d.value;
    else fail(C.LABEL_DNS_INVALID, names.dns, dnsRaw, d.reason);
  }

  let listen: number | null = null;
  const listenRaw = get(names.listen);
  if (listenRaw !== undefined) {
    const l = checkPort(listenRaw);
    if (l.ok) listen = l.value;
    else fail(C.LABEL_LISTEN_INVALID, names.listen, listenRaw, l.reason);
  } else if (proxy === 'tcp') {
    fail(C.LABEL_LISTEN_REQUIRED, names.listen, undefined, `required with ${names.proxy}=tcp`);
  }
  // `listen` only means something for tcp; an http app keeps the shared HTTP listener.
  if (proxy !== 'tcp') listen = null;

  const fixedIp = parseFixedIp(app, names, fail);
  const instances = typeof app.instances === 'number' ? app.instances : 1;
  if (fixedIp !== null && instances > 1) {
    fail(C.FIXED_IP_MULTIPLE_INSTANCES, names.ip, fixedIp,
      `fixed IP with ${instances} instances; Docker would give every instance the same --ip (use one app per fixed-IP container)`);
  }

  const network: NetworkMode = fixedIp !== null ? 'fixed' : isContainerNetworked(app) ? 'container' : 'host';
  const port = choosePort(app, get(names.port), network, names.port, fail);

  if (problems.length > 0 || !domains.ok || port === null) {
    const envOrNull = envRaw === undefined || checkEnv(envRaw).ok ? env : null;
    for (const p of problems) p.env = envOrNull;
    return { kind: 'invalid', env: envOrNull, problems };
  }

  const version = app.version ?? '';
  return {
    kind: 'spec',
    spec: {
      env,
      appId,
      domains: domains.value,
      proxy,
      listen,
      dns,
      portName: port.name,
      servicePort: port.number,
      portIndex: port.index,
      fixedIp,
      network,
      version,
      healthChecked: Array.isArray(app.healthChecks) && app.healthChecks.length > 0,
      instances,
      configChangedAt: app.versionInfo?.lastConfigChangeAt ?? version,
    },
  };
}

type Fail = (code: (typeof C)[keyof typeof C], label: string, value: string | undefined, reason: string) => void;

/** The fixed IP from `berth.ip` and/or the Docker `ip` parameter; null when none (or refused via `fail`). */
function parseFixedIp(app: App, names: LabelNames, fail: Fail): string | null {
  const labelRaw = app.labels?.[names.ip];
  const params = dockerIpParameters(app);
  let fromParam: string | null = null;
  for (const raw of params) {
    const c = checkIp(raw);
    if (!c.ok) {
      fail(C.LABEL_IP_INVALID, 'docker parameter ip', raw, c.reason);
      return null;
    }
    if (fromParam !== null && fromParam !== c.value) {
      fail(C.FIXED_IP_MISMATCH, 'docker parameter ip', raw, `several different ip parameters (${fromParam}, ${c.value})`);
      return null;
    }
    fromParam = c.value;
  }
  if (typeof labelRaw !== 'string') return fromParam;
  const trimmed = labelRaw.trim();
  if (trimmed === IP_AUTO || trimmed.startsWith(`${IP_AUTO}:`)) {
    if (fromParam === null) fail(C.FIXED_IP_UNRESOLVED, names.ip, labelRaw, 'not allocated: POST the app to /v1/apps/prepare first');
    return fromParam;
  }
  const c = checkIp(labelRaw);
  if (!c.ok) {
    fail(C.LABEL_IP_INVALID, names.ip, labelRaw, c.reason);
    return null;
  }
  if (fromParam !== null && fromParam !== c.value) {
    fail(C.FIXED_IP_MISMATCH, names.ip, labelRaw, `label says ${c.value}, docker parameter ip says ${fromParam}`);
    return null;
  }
  return c.value;
}

interface ChosenPort {
  number: number;
  name: string | null;
  index: number | null;
}

/** `berth.port` → the declared port it names; undeclared numbers are fine when the task's own address is used. */
function choosePort(app: App, raw: string | undefined, network: NetworkMode, label: string, fail: Fail): ChosenPort | null {
  const ports = declaredPorts(app);
  const ownAddress = network !== 'host';
  const pick = (i: number): ChosenPort | null => {
    const p = ports[i];
    const n = ownAddress ? p.number : p.number || p.servicePort || 0;
    if (ownAddress && n === 0) {
      fail(C.PORT_NOT_FOUND, label, raw, `declared port ${i} has no container port; set ${label} to a number`);
      return null;
    }
    const name = p.name !== null && checkPortName(p.name).ok ? p.name : null;
    return { number: n, name, index: i };
  };
  if (raw === undefined) {
    if (ports.length > 0) return pick(0);
    fail(C.PORT_NOT_FOUND, label, raw, `the app declares no port; set ${label}`);
    return null;
  }
  if (/^\s*[0-9]+\s*$/.test(raw)) {
    const c = checkPort(raw);
    if (!c.ok) {
      fail(C.LABEL_PORT_INVALID, label, raw, c.reason);
      return null;
    }
    const i = ports.findIndex((p) => p.number === c.value);
    if (i >= 0) return pick(i);
    // A fixed-IP or IP-per-task container is reached on its own address: no mapping needed.
    if (ownAddress) return { number: c.value, name: null, index: null };
    fail(C.PORT_NOT_FOUND, label, raw, `port ${c.value} is not declared by the app (host networking needs its host port)`);
    return null;
  }
  const n = checkPortName(raw);
  if (!n.ok) {
    fail(C.LABEL_PORT_INVALID, label, raw, n.reason);
    return null;
  }
  const i = ports.findIndex((p) => p.name === n.value);
  if (i >= 0) return pick(i);
  fail(C.PORT_NOT_FOUND, label, raw, `no port named "${n.value}"`);
  return null;
}

/** Keep label values in problem details short and printable (they are echoed by the API and logs). */
function clip(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  return v.length > 120 ? `${v.slice(0, 120)}…` : v;
}

/** The fixed IP an app uses, if any, whether or not it carries `berth.domain` (for IPAM reconciliation). */
export function fixedIpOf(app: App, labelPrefix = 'berth.'): string | null {
  return parseFixedIp(app, namesFor(labelPrefix), () => undefined);
}
