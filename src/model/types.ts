/**
 * The published catalog: what the registry holds and what the DNS and Nginx consumers read.
 * Everything here has been validated by model/ (labels) before it is stored; consumers may
 * trust the values (domains are lowercase FQDNs without a trailing dot, addresses are IP
 * literals, ports are 1..65535).
 */

export type ProxyMode = 'http' | 'tcp' | 'none';
export type DnsMode = 'direct' | 'proxy' | 'none';

/**
 * Per-app proxy options from labels (docs/labels.md "Proxy options"); a field is set only when its
 * label is, and the templates use their defaults otherwise. Validated and normalised by src/rules.
 */
export interface ProxyOptions {
  /** `berth.timeout.connect`, seconds. */
  connectTimeout?: number;
  /** `berth.timeout.read`, seconds (read and send). */
  readTimeout?: number;
  /** `berth.body.max`, bytes. */
  bodyMax?: number;
  /** `berth.allow`: addresses/CIDRs allowed; everyone else gets 403 (http) or is closed (tcp). */
  allow?: string[];
  /** `berth.sticky`: a client keeps its endpoint, chosen by consistent hashing of a cookie or its address. */
  sticky?: 'cookie' | 'ip';
}

/** Where one Marathon task is reached. Only serving tasks (running, health rules passed) are endpoints. */
export interface Endpoint {
  /** Marathon task id, e.g. `team_web.3f1c…` (1.4) or `team_web.instance-…._app.1` (1.10). */
  taskId: string;
  /** IPv4 or IPv6 literal. */
  address: string;
  port: number;
  /** The Mesos agent as Marathon reports it (name or address); informative only. */
  host: string;
}

/** One app's published service in one environment. */
export interface Service {
  env: string;
  /** Marathon app id, e.g. `/team/web`. */
  appId: string;
  /**
   * Which of the app's ports this service publishes, as its per-port labels name it
   * (`berth.port.<port>.domain`: a port name or a 0-based index). Absent for the app's main service
   * (`berth.domain`). (appId, port) is unique; `serviceKey` joins them.
   */
  port?: string;
  /** One or more validated DNS names; the first is the primary name. */
  domains: string[];
  proxy: ProxyMode;
  /** For `proxy = tcp`: the port Nginx listens on. */
  listen: number | null;
  dns: DnsMode;
  /** Name of the chosen port (portMappings/portDefinitions `name`), for SRV `_<name>._tcp`. */
  portName: string | null;
  /** The chosen container (or host) port number as declared in the app, for SRV `_<port>._tcp`. */
  servicePort: number;
  /** Fixed IP from `berth.ip` or the Docker `ip` parameter, if any. */
  fixedIp: string | null;
  /** Proxy options; absent when the app sets none (the file is then what it always was). */
  options?: ProxyOptions;
  /** Serving endpoints, sorted by taskId for stable output. May be empty. */
  endpoints: Endpoint[];
  /** Marathon app version (ISO timestamp string). */
  version: string;
  /** `berth.tls` when not `off`: `on` serves HTTPS too, `redirect` sends plain HTTP to HTTPS. */
  tls?: 'on' | 'redirect';
  /** `berth.tls.hsts` max-age in seconds (HTTPS responses only). */
  hsts?: number;
  /** `berth.path` prefixes (normalised: `/api`, no trailing slash); absent: the service is its domains' `/` app. */
  paths?: string[];
  /** `berth.path.strip=true`: the prefix is removed before proxying. */
  pathStrip?: true;
}

/** Per-environment settings from `BERTH_ENVIRONMENTS`. */
export interface EnvironmentConfig {
  /** CIDRs whose DNS clients belong to this environment. */
  clients: string[];
  /** Addresses of this environment's Nginx, answered for `berth.dns=proxy` names. */
  proxyAddresses: string[];
}

/** A problem with one app (bad labels, domain conflict, Nginx rejected its config, …). Codes are stable. */
export interface Problem {
  code: string;
  appId: string;
  env: string | null;
  message: string;
  details?: Record<string, unknown>;
  since?: string;
}
