/**
 * Labels → ServiceSpec, or the list of problems that make berth skip the app (docs/labels.md).
 * Pure: takes a Marathon app and options, returns plain data.
 */
import type { App } from '../marathon/types';
import { display, isClean, reservedReason, type AddressPolicy, type NginxScope, type ReservedNames } from '../rules';
import { IP_AUTO, labelNames, type LabelNames } from './labels';
import { declaredPorts, dockerIpParameters, isContainerNetworked, type NetworkMode } from './ports';
import { PROBLEM_CODES as C, problem } from './problems';
import type { DnsMode, Problem, ProxyMode } from './types';
import { checkDomainList, checkEnv, checkIp, checkOneOf, checkPort, checkPortName } from './validate';
import { looksNumeric } from '../rules';
import { checkAppIdString, checkFixedIp, dirtyLabels, selfEndpoints, type PoolHolderLookup } from './intake-checks';

export { isUsableAppId, safeAppKey, type PoolHolderLookup } from './intake-checks';

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
  /** Names berth answers itself (zones, NS name); absent: only task names and the reverse tree are reserved. */
  reserved?: ReservedNames;
  /**
   * Fixed-IP ranges and berth's own sockets. `berth run` always passes one built from configuration
   * (whose defaults refuse loopback, unspecified, link-local and multicast); absent (library use,
   * tests): no address rule is applied.
   */
  addresses?: AddressPolicy;
  /** IPAM's view of fixed IPs; absent: pool ownership is not checked here. */
  poolHolder?: PoolHolderLookup;
  /** Whether environments share one Nginx (`berth run`: `BERTH_NGINX_SCOPE`, default `shared`; absent here: `per-env`). */
  nginxScope?: NginxScope;
}

/** `ignored`: no `berth.domain`, not berth's business. */
export type SpecResult = { kind: 'ignored' } | { kind: 'spec'; spec: ServiceSpec } | { kind: 'invalid'; env: string | null; problems: Problem[] };

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
  const labels: Record<string, unknown> = app.labels !== null && typeof app.labels === 'object' ? app.labels : {};
  // A value that is not a clean string is reported once (LABEL_INVALID_STRING) and otherwise absent.
  const get = (k: string): string | undefined => {
    const v = labels[k];
    return v === '' || isClean(v, 'labelValue') ? (v as string) : undefined;
  };
  if (labels[names.domain] === undefined) return { kind: 'ignored' };
  const domainRaw = get(names.domain) ?? '';

  const id = checkAppIdString(app.id);
  if (!id.ok) return { kind: 'invalid', env: null, problems: [id.problem] };
  const appId = id.value;
  const problems: Problem[] = [];
  const fail = (code: (typeof C)[keyof typeof C], label: string, value: string | undefined, reason: string): void => {
    problems.push(problem(code, appId, null, `${label}: ${display(reason, 300, false)}`, { label, value: value === undefined ? undefined : display(value) }));
  };
  const dirty = dirtyLabels(labels, names, opts.labelPrefix ?? 'berth.');
  for (const d of dirty) {
    problems.push(
      problem(C.LABEL_INVALID_STRING, appId, null, `${display(d.key, 80)}: ${d.message}, value "${display(d.value)}"`, {
        label: display(d.key, 80),
        value: display(d.value),
        reason: d.reason,
      }),
    );
  }

  const domains = dirty.some((d) => d.key === names.domain) ? null : checkDomainList(domainRaw);
  if (domains && !domains.ok) fail(C.LABEL_DOMAIN_INVALID, names.domain, domainRaw, domains.reason);
  if (domains?.ok) {
    for (const d of domains.value) {
      const why = reservedReason(d, opts.reserved);
      if (why !== null) problems.push(problem(C.DOMAIN_RESERVED, appId, null, `${names.domain}: ${why}`, { label: names.domain, domain: d }));
    }
  }

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

  const fixedIp = parseFixedIp(app, names, fail, get(names.ip));
  if (fixedIp !== null) checkFixedIp(fixedIp, appId, names.ip, opts.addresses, opts.poolHolder, problems);
  const instances = typeof app.instances === 'number' ? app.instances : 1;
  if (fixedIp !== null && instances > 1) {
    fail(
      C.FIXED_IP_MULTIPLE_INSTANCES,
      names.ip,
      fixedIp,
      `fixed IP with ${instances} instances; Docker would give every instance the same --ip (use one app per fixed-IP container)`,
    );
  }

  const network: NetworkMode = fixedIp !== null ? 'fixed' : isContainerNetworked(app) ? 'container' : 'host';
  const port = choosePort(app, get(names.port), network, names.port, fail);
  if (port !== null && opts.addresses) selfEndpoints(app, fixedIp, network, port, appId, opts.addresses, problems);

  if (problems.length > 0 || !domains?.ok || port === null) {
    const envOrNull = envRaw === undefined || checkEnv(envRaw).ok ? env : null;
    for (const p of problems) p.env = envOrNull;
    return { kind: 'invalid', env: envOrNull, problems };
  }

  // Marathon's versions are ISO timestamps; anything else is not stored (it only orders apps).
  const version = isClean(app.version, 'version') ? app.version : '';
  const changedAt = app.versionInfo?.lastConfigChangeAt;
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
      configChangedAt: isClean(changedAt, 'version') ? changedAt : version,
    },
  };
}

type Fail = (code: (typeof C)[keyof typeof C], label: string, value: string | undefined, reason: string) => void;

/** The fixed IP from `berth.ip` and/or the Docker `ip` parameter; null when none (or refused via `fail`). */
function parseFixedIp(app: App, names: LabelNames, fail: Fail, labelRaw: string | undefined): string | null {
  const params = dockerIpParameters(app).filter((p) => isClean(p, 'ip'));
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
  if (looksNumeric(raw)) {
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

/** The fixed IP an app uses, if any, whether or not it carries `berth.domain` (for IPAM reconciliation). */
export function fixedIpOf(app: App, labelPrefix = 'berth.'): string | null {
  // An unusable id cannot be stored as an allocation's owner; its problem comes from parseApp.
  if (!checkAppIdString(app.id).ok) return null;
  const names = namesFor(labelPrefix);
  const raw = app.labels?.[names.ip];
  return parseFixedIp(app, names, () => undefined, isClean(raw, 'labelValue') ? raw : undefined);
}
