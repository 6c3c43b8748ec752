/**
 * Labels → ServiceSpec, or the list of problems that make berth skip the app (docs/labels.md).
 * Pure: takes a Marathon app and options, returns plain data.
 */
import type { App } from '../marathon/types';
import { display, isClean, isLabelDenied, type AddressPolicy, type NginxScope, type ReservedNames } from '../rules';
import { IP_AUTO, labelNames, splitPortLabel, type LabelNames } from './labels';
import { choosePort, type ChosenPort, type Fail } from './port-choice';
import { checkClaimsWithinApp, checkOnePublisherPerPort, perPortLabels, publishedPorts } from './port-labels';
import { declaredPorts, dockerIpParameters, isContainerNetworked, type NetworkMode } from './ports';
import { PROBLEM_CODES as C, problem } from './problems';
import { comparePorts } from './service-key';
import { checkOptionsForProxies, parseProxyOptions } from './proxy-options';
import { serviceSettings, type ServiceSettings } from './service-settings';
import type { DnsMode, Problem, ProxyMode, ProxyOptions } from './types';
import { checkEnv, checkIp } from './validate';
import { tlsSettings, type TlsSettings } from './tls-labels';
import { pathSettings, type PathSettings } from './path-labels';
import { checkAppIdString, checkFixedIp, dirtyLabels, selfEndpoints, type PoolHolderLookup } from './intake-checks';

export { isUsableAppId, safeAppKey, type PoolHolderLookup } from './intake-checks';

/** What an app asks berth to publish; everything but the endpoints of a `Service`. */
export interface ServiceSpec {
  env: string;
  appId: string;
  /** The port reference of a per-port service (`berth.port.<port>.*`); absent for the main service. */
  port?: string;
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
  /** Marathon readiness checks exist (set only then): new tasks join after Marathon reports them ready. */
  readinessChecked?: boolean;
  /** A deployment of the app was in progress when it was last fetched (set with `readinessChecked`). */
  deploying?: boolean;
  /** Proxy options from labels; set only when the app sets one. */
  options?: ProxyOptions;
  /** `berth.tls` when not `off` (main service only). */
  tls?: 'on' | 'redirect';
  /** `berth.tls.hsts` max-age in seconds, only with `tls`. */
  hsts?: number;
  /** `berth.path` prefixes, normalised (main service only, proxy `http`). */
  paths?: string[];
  /** `berth.path.strip=true`, only with `paths`. */
  pathStrip?: true;
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
  /** Full label names the operator forbids (`BERTH_LABELS_DENY`); an app using one is not published. */
  labelsDeny?: readonly string[];
}

/**
 * `ignored`: neither `berth.domain` nor a per-port domain label, not berth's business. `specs`: every
 * service the app publishes (main first, then per-port ones by port); `spec` is the first, and
 * carries what all of them share (env, version, network, health and readiness).
 */
export type SpecResult =
  { kind: 'ignored' } | { kind: 'spec'; spec: ServiceSpec; specs: ServiceSpec[] } | { kind: 'invalid'; env: string | null; problems: Problem[] };

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
  const prefix = opts.labelPrefix ?? 'berth.';
  const hasMain = labels[names.domain] !== undefined;
  const portLabels = perPortLabels(labels, prefix);
  if (!hasMain && portLabels.length === 0) return { kind: 'ignored' };

  const id = checkAppIdString(app.id);
  if (!id.ok) return { kind: 'invalid', env: null, problems: [id.problem] };
  const appId = id.value;
  const problems: Problem[] = [];
  const fail: Fail = (code, label, value, reason) => {
    problems.push(problem(code, appId, null, `${label}: ${display(reason, 300, false)}`, { label, value: value === undefined ? undefined : display(value) }));
  };
  const dirty = dirtyLabels(labels, names, prefix, (k) => splitPortLabel(k, prefix) !== null);
  for (const d of dirty) {
    problems.push(
      problem(C.LABEL_INVALID_STRING, appId, null, `${display(d.key, 80)}: ${d.message}, value "${display(d.value)}"`, {
        label: display(d.key, 80),
        value: display(d.value),
        reason: d.reason,
      }),
    );
  }

  // A forbidden label refuses the app rather than being ignored: an app relying on, say, its
  // allow-list must not be published without it.
  if (opts.labelsDeny && opts.labelsDeny.length > 0) {
    const denied = Object.keys(labels).filter((k) => k.startsWith(prefix) && opts.labelsDeny!.some((d) => isLabelDenied(k, d, prefix)));
    if (denied.length > 0) {
      const shown = denied.slice(0, 10).map((k) => display(k, 80));
      fail(C.LABEL_DENIED, shown[0], undefined, `forbidden by the operator (BERTH_LABELS_DENY): ${shown.join(', ')}${denied.length > 10 ? ', …' : ''}`);
    }
  }

  // The main service's settings; an app published only through per-port labels has none.
  const dirtyKeys = new Set(dirty.map((d) => d.key));
  const main = hasMain
    ? serviceSettings({ domain: names.domain, proxy: names.proxy, listen: names.listen, dns: names.dns }, get, dirtyKeys, opts, appId, fail, problems)
    : null;

  const tls = main ? tlsSettings({ tls: names.tls, hsts: names['tls.hsts'] }, get, fail) : {};
  const paths = pathSettings({ path: names.path, strip: names['path.strip'] }, get, main ? (main.settings?.proxy ?? 'http') : null, fail);

  let env = opts.defaultEnv;
  const envRaw = get(names.env);
  if (envRaw !== undefined) {
    const e = checkEnv(envRaw);
    if (e.ok) env = e.value;
    else fail(C.LABEL_ENV_INVALID, names.env, envRaw, e.reason);
  }

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
  const declared = declaredPorts(app);
  // Without `berth.domain` the single-port labels (berth.port, .proxy, .listen, .dns) mean nothing.
  const port = main ? choosePort(declared, get(names.port), network, names.port, fail) : null;
  if (port !== null && opts.addresses) selfEndpoints(app, fixedIp, network, port, appId, opts.addresses, problems);
  const ports = publishedPorts(portLabels, declared, network, get, dirtyKeys, opts, appId, fail, problems);
  if (opts.addresses) for (const pp of ports) selfEndpoints(app, fixedIp, network, pp.port, appId, opts.addresses, problems);
  checkOnePublisherPerPort(main && port ? port.index : null, ports, names, fail);
  checkClaimsWithinApp(main?.settings ?? null, ports, names.domain, appId, problems);
  const options = parseProxyOptions(names, get, fail);
  const proxies = [...(main?.settings ? [main.settings.proxy] : []), ...ports.flatMap((p) => (p.settings ? [p.settings.proxy] : []))];
  checkOptionsForProxies(options, proxies, names, fail);

  if (problems.length > 0 || (main !== null && (main.settings === null || port === null)) || ports.some((p) => p.settings === null)) {
    const envOrNull = envRaw === undefined || checkEnv(envRaw).ok ? env : null;
    for (const p of problems) p.env = envOrNull;
    return { kind: 'invalid', env: envOrNull, problems };
  }

  // Marathon's versions are ISO timestamps; anything else is not stored (it only orders apps).
  const version = isClean(app.version, 'version') ? app.version : '';
  const changedAt = app.versionInfo?.lastConfigChangeAt;
  const readinessChecked = Array.isArray(app.readinessChecks) && app.readinessChecks.length > 0;
  // Specs are built by assignment in a fixed key order, not by spreading partial objects: spreading
  // (`{ ...common, ...settings, ...tls }`) took ~7 µs per app, most of the label parse of a 10,000-app
  // snapshot. The key order is the one the spreads gave, so stored and rendered specs do not change.
  const common: CommonSpec = {
    env,
    appId,
    fixedIp,
    network,
    version,
    healthChecked: Array.isArray(app.healthChecks) && app.healthChecks.length > 0,
    instances,
    configChangedAt: isClean(changedAt, 'version') ? changedAt : version,
    // Only set when true, so specs of apps without readiness checks look as they always did.
    readinessChecked: readinessChecked ? true : undefined,
    deploying: readinessChecked ? Array.isArray(app.deployments) && app.deployments.length > 0 : undefined,
    // Only set when a label is, so the files of apps without options are what they always were.
    options: Object.keys(options).length > 0 ? options : undefined,
  };
  const specs: ServiceSpec[] = [];
  if (main && main.settings && port) {
    // A domain shared by path is only ever reached through Nginx (docs/labels.md "Path prefixes"): a
    // path app's name is answered with the proxy addresses, never with its own tasks.
    const dns = paths.paths && main.settings.dns === 'direct' ? 'proxy' : main.settings.dns;
    specs.push(specOf(common, undefined, main.settings, dns, tls, paths, port));
  }
  for (const pp of ports) specs.push(specOf(common, pp.ref, pp.settings!, pp.settings!.dns, {}, {}, pp.port));
  specs.sort(comparePorts);
  return { kind: 'spec', spec: specs[0], specs };
}

/** What every service of an app shares; optional members are left out of the spec when undefined. */
type CommonSpec = Pick<ServiceSpec, 'env' | 'appId' | 'fixedIp' | 'network' | 'version' | 'healthChecked' | 'instances' | 'configChangedAt'> & {
  readinessChecked: true | undefined;
  deploying: boolean | undefined;
  options: ProxyOptions | undefined;
};

/** One service's spec, keys in the order docs and stored rows have always shown them. */
function specOf(
  c: CommonSpec,
  portRef: string | undefined,
  settings: ServiceSettings,
  dns: DnsMode,
  tls: TlsSettings,
  paths: PathSettings,
  port: ChosenPort,
): ServiceSpec {
  const s = {
    env: c.env,
    appId: c.appId,
    fixedIp: c.fixedIp,
    network: c.network,
    version: c.version,
    healthChecked: c.healthChecked,
    instances: c.instances,
    configChangedAt: c.configChangedAt,
  } as ServiceSpec;
  if (c.readinessChecked) {
    s.readinessChecked = true;
    s.deploying = c.deploying;
  }
  if (c.options !== undefined) s.options = c.options;
  if (portRef !== undefined) s.port = portRef;
  s.domains = settings.domains;
  s.proxy = settings.proxy;
  s.listen = settings.listen;
  s.dns = dns;
  if (tls.tls !== undefined) s.tls = tls.tls;
  if (tls.hsts !== undefined) s.hsts = tls.hsts;
  if (paths.paths !== undefined) s.paths = paths.paths;
  if (paths.pathStrip !== undefined) s.pathStrip = paths.pathStrip;
  s.portName = port.name;
  s.servicePort = port.number;
  s.portIndex = port.index;
  return s;
}

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

/** The fixed IP an app uses, if any, whether or not it carries `berth.domain` (for IPAM reconciliation). */
export function fixedIpOf(app: App, labelPrefix = 'berth.'): string | null {
  // An unusable id cannot be stored as an allocation's owner; its problem comes from parseApp.
  if (!checkAppIdString(app.id).ok) return null;
  const names = namesFor(labelPrefix);
  const raw = app.labels?.[names.ip];
  return parseFixedIp(app, names, () => undefined, isClean(raw, 'labelValue') ? raw : undefined);
}
