import { DNS_LIMIT_DEFAULTS as DNS_LIMITS, type DnsLimits } from '../dns/limits';
import { DEFAULT_MAX_EVENT_BYTES, DEFAULT_MAX_RESPONSE_BYTES } from '../marathon/limits';
import type { EnvironmentConfig } from '../model/types';
import type { NginxScope } from '../rules';
import { parseEnvironments } from './environments';
import * as p from './parsers';
import { shippedTemplatesDir } from './templates';

/** The validated, frozen configuration (README.md "Configuration"; a contract). */
export interface Config {
  marathon: { urls: string[]; username?: string; password?: string; token?: string; maxResponseBytes: number; maxEventBytes: number };
  databaseUrl?: string;
  dataDir: string;
  http: { host: string; port: number };
  apiTokens: string[];
  /** Browser origins allowed to call the API without a token (default none). */
  apiAllowedOrigins: string[];
  /** Host names (besides IP literals, localhost and this machine's name) accepted without a token. */
  apiAllowedHosts: string[];
  /** IPAM audit trail retention, enforced by the leader; 0 = no limit of that kind. */
  auditRetention: { days: number; maxRows: number; intervalMs: number };
  dns: {
    host: string;
    port: number;
    zones: string[];
    ttl: number;
    forwarders: string[];
    /** CIDRs allowed AXFR/IXFR (empty: none). */
    transferAllow: string[];
    /** Secondaries told by NOTIFY when the serial changes. */
    notify: string[];
    /** EDNS Client Subnet picks the environment view. */
    envByEcs: boolean;
  };
  /** DNS abuse limits (README "DNS abuse limits"). */
  dnsLimits: DnsLimits;
  nginx: {
    dir: string;
    templates: string;
    httpListen: string;
    testCmd: string;
    reloadCmd: string;
    /** Loopback `ip:port` of the admin server in http.conf; '' = none (no confirmation). */
    adminListen: string;
    confirmTimeoutMs: number;
    errorLog?: string;
    mainConf: string | null;
    quarantineMaxMs: number;
    /** Where HTTP endpoints live: `off` in the files (reload per change), `lua` in Nginx's Lua dict (pushed to the admin server). */
    dynamic: 'off' | 'lua';
    /** What HTTPS server blocks of `berth.tls` services listen on. */
    httpsListen: string;
  };
  /** Certificates for `berth.tls` (docs/nginx.md "TLS"). */
  tls: {
    /** Directory of `<domain>.crt/.key` and `_.<parent>.crt/.key` pairs; empty: TLS unavailable. */
    dir: string;
    expiryWarnDays: number;
  };
  syncIntervalMs: number;
  resyncIntervalMs: number;
  marathonFailureGraceMs: number;
  labelPrefix: string;
  /** Label names apps may not use (`BERTH_LABELS_DENY`). */
  labelsDeny: string[];
  defaultEnv: string;
  environments: Record<string, EnvironmentConfig>;
  maxRemovalRatio: number;
  logLevel: string;
  /** Fixed-IP ranges (`berth.ip`, Docker `--ip`): allowed (empty: any not refused) and denied CIDRs. */
  fixedIp: { allow: string[]; deny: string[] };
  nginxScope: NginxScope;
}

interface Key<T> {
  default?: T;
  parse: p.Parser<T>;
  /** Shown in `berth check` and the README table. */
  doc: string;
  secret?: boolean;
}

function key<T>(parse: p.Parser<T>, doc: string, def?: T, secret = false): Key<T> {
  return { parse, doc, default: def, secret };
}

/** Every configuration key, its parser and default. Order = documentation order. */
export const KEYS = {
  BERTH_MARATHON_URLS: key(p.list(p.httpUrl), 'comma-separated Marathon base URLs', [] as string[]),
  BERTH_MARATHON_USERNAME: key(p.text, 'HTTP Basic user for Marathon'),
  BERTH_MARATHON_PASSWORD: key(p.text, 'HTTP Basic password for Marathon', undefined, true),
  BERTH_MARATHON_TOKEN: key(p.text, 'DC/OS token (Authorization: token=…)', undefined, true),
  BERTH_MARATHON_MAX_RESPONSE_BYTES: key(p.integer(65536), 'largest Marathon REST answer read (bytes)', DEFAULT_MAX_RESPONSE_BYTES),
  BERTH_MARATHON_MAX_EVENT_BYTES: key(p.integer(4096, 268435456), 'largest single /v2/events event (bytes)', DEFAULT_MAX_EVENT_BYTES),
  BERTH_DATABASE_URL: key(p.postgresUrl, 'PostgreSQL URL; unset = embedded PGlite in BERTH_DATA_DIR/db', undefined, true),
  BERTH_DATA_DIR: key(p.text, 'embedded database and state', './var'),
  BERTH_HTTP_ADDR: key(p.hostPort('127.0.0.1'), 'REST API, /metrics, /healthz, /readyz', { host: '127.0.0.1', port: 8080 }),
  BERTH_API_TOKENS: key(p.strictList(p.apiToken), 'bearer tokens for writes (each ≥ 16 characters); unset = writes from loopback only', [] as string[], true),
  BERTH_API_ALLOWED_ORIGINS: key(p.strictList(p.webOrigin), 'browser origins allowed without a token (default none)', [] as string[]),
  BERTH_API_ALLOWED_HOSTS: key(
    p.strictList(p.hostName),
    "Host names accepted without a token besides IP literals, localhost and this host's name",
    [] as string[],
  ),
  BERTH_AUDIT_RETENTION_DAYS: key(p.integer(0, 36500), 'IPAM audit rows older than this are pruned by the leader; 0 = no age limit', 90),
  BERTH_AUDIT_MAX_ROWS: key(p.integer(0, 1_000_000_000), 'IPAM audit rows kept at most (oldest pruned first); 0 = no row limit', 1_000_000),
  BERTH_AUDIT_PRUNE_INTERVAL_MS: key(p.integer(1000, 86400000), 'time between audit pruning passes on the leader', 60000),
  BERTH_DNS_ADDR: key(p.hostPort('127.0.0.1'), 'DNS listen address, UDP and TCP', { host: '127.0.0.1', port: 5353 }),
  BERTH_DNS_ZONES: key(p.list(p.zoneName), 'zones served authoritatively', ['berth.internal']),
  BERTH_DNS_TTL: key(p.integer(0, 2147483647), 'answer TTL in seconds (at most 2^31 - 1, RFC 2181)', 10),
  BERTH_DNS_FORWARDERS: key(p.list(p.resolverAddr), 'upstream resolvers for names outside the zones', [] as string[]),
  BERTH_DNS_TRANSFER_ALLOW: key(p.list(p.cidr), 'CIDRs allowed zone transfers (AXFR over TCP, IXFR); unset = every transfer REFUSED', [] as string[]),
  BERTH_DNS_NOTIFY: key(p.list(p.resolverAddr), 'secondaries (ip or ip:port) sent NOTIFY when the SOA serial changes', [] as string[]),
  BERTH_DNS_ENV_BY_ECS: key(p.oneOf('true', 'false'), 'true: the EDNS Client Subnet option of a query picks its environment view', 'false'),
  BERTH_DNS_TCP_DEADLINE_MS: key(p.integer(100, 3_600_000), 'DNS over TCP: whole-connection deadline from accept', DNS_LIMITS.tcpDeadlineMs),
  BERTH_DNS_TCP_IDLE_MS: key(p.integer(100, 3_600_000), 'DNS over TCP: time allowed for the next complete query', DNS_LIMITS.tcpIdleMs),
  BERTH_DNS_TCP_MAX: key(p.integer(1, 65_535), 'DNS over TCP: connections in all (full: the oldest idle one is shed)', DNS_LIMITS.tcpMaxConnections),
  BERTH_DNS_TCP_PER_SOURCE: key(p.integer(1, 65_535), 'DNS over TCP: connections per client address', DNS_LIMITS.tcpPerSource),
  BERTH_DNS_RRL_RESPONSES_PER_SECOND: key(
    p.integer(0, 10_000_000),
    'UDP responses per second per client /24 (IPv6 /56) and class; 0 = off',
    DNS_LIMITS.rrlResponsesPerSecond,
  ),
  BERTH_DNS_RRL_WINDOW_S: key(p.integer(1, 3600), 'seconds a rate-limited prefix must average under the limit', DNS_LIMITS.rrlWindowSeconds),
  BERTH_DNS_RRL_SLIP: key(p.integer(0, 100), 'every Nth rate-limited response goes out truncated (TC=1); 0 = drop all', DNS_LIMITS.rrlSlip),
  BERTH_DNS_UDP_AMPLIFICATION_MAX: key(
    p.integer(0, 1000),
    'UDP answers larger than this × the query only to TCP-verified clients; 0 = off',
    DNS_LIMITS.udpAmplificationMax,
  ),
  BERTH_NGINX_DIR: key(p.text, 'where rendered Nginx files go', './var/nginx'),
  BERTH_NGINX_TEMPLATES: key(p.text, 'Nginx template folder', shippedTemplatesDir()),
  BERTH_NGINX_HTTP_LISTEN: key(p.text, 'what HTTP server blocks listen on (port or addr:port)', '80'),
  BERTH_NGINX_HTTPS_LISTEN: key(p.text, 'what HTTPS server blocks of berth.tls services listen on (port or addr:port)', '443'),
  BERTH_TLS_DIR: key(p.text, 'directory of certificate pairs <domain>.crt/.key and _.<parent>.crt/.key for berth.tls; empty = TLS unavailable', ''),
  BERTH_TLS_EXPIRY_WARN_DAYS: key(p.integer(0, 365), 'a certificate in use expiring within this many days raises TLS_CERT_EXPIRING', 14),
  BERTH_NGINX_TEST_CMD: key(p.text, 'config test command; empty = no validation', 'nginx -t'),
  BERTH_NGINX_RELOAD_CMD: key(p.text, 'reload command; empty = render only', 'nginx -s reload'),
  BERTH_NGINX_MAIN_CONF: key(
    p.text,
    'main nginx.conf; set: each test runs on a candidate copy that includes the staging tree (crash-safe), and the default test command becomes nginx -t -c "$BERTH_NGINX_CANDIDATE_CONF"',
    '',
  ),
  BERTH_NGINX_QUARANTINE_MAX_MS: key(p.integer(1000, 86400000), 'longest gap between retries of a service nginx -t rejected', 600000),
  BERTH_NGINX_ADMIN_LISTEN: key(
    p.loopbackListen,
    'loopback ip:port of the admin server berth renders into http.conf (answers the generation id); empty = none, reloads are not confirmed',
    '127.0.0.1:8099',
  ),
  BERTH_NGINX_CONFIRM_TIMEOUT_MS: key(p.integer(100, 600000), 'how long after a reload Nginx has to answer the new generation before the run fails', 5000),
  BERTH_NGINX_ERROR_LOG: key(p.text, "Nginx's error log; its last lines explain a reload that was not confirmed (optional)"),
  BERTH_NGINX_DYNAMIC: key(
    p.oneOf('off', 'lua'),
    'off: endpoints in the files, a reload per change; lua: HTTP endpoints pushed into Nginx (libnginx-mod-http-lua) through the admin server, without reloads',
    'off' as 'off' | 'lua',
  ),
  BERTH_SYNC_INTERVAL_MS: key(p.integer(100, 3600000), 'Nginx batch interval', 2000),
  BERTH_RESYNC_INTERVAL_MS: key(p.integer(1000, 86400000), 'periodic full snapshot from Marathon', 300000),
  BERTH_MARATHON_FAILURE_GRACE_MS: key(p.integer(1000, 86400000), '/readyz fails once Marathon snapshots have failed without a success for this long', 60000),
  BERTH_LABEL_PREFIX: key(p.labelPrefix, 'label prefix', 'berth.'),
  BERTH_LABELS_DENY: key(
    p.strictList(p.labelName),
    'labels apps may not use, full names (e.g. berth.allow,berth.body.max; a name also forbids its per-port form berth.port.<port>.…); an app using one gets LABEL_DENIED and is not published',
    [] as string[],
  ),
  BERTH_DEFAULT_ENV: key(p.envName, 'environment for apps without berth.env, and the DNS fallback', 'default'),
  BERTH_ENVIRONMENTS: key(parseEnvironments, 'JSON: {"<env>": {"clients": [cidr…], "proxyAddresses": [ip…]}}', {} as Record<string, EnvironmentConfig>),
  BERTH_MAX_REMOVAL_RATIO: key(p.ratio, 'mass-removal guard (0..1)', 0.5),
  BERTH_FIXED_IP_ALLOW_CIDRS: key(
    p.list(p.cidr),
    'if set, berth.ip must lie in one of these CIDRs (inside them loopback and link-local are allowed)',
    [] as string[],
  ),
  BERTH_FIXED_IP_DENY_CIDRS: key(p.list(p.cidr), 'berth.ip inside these CIDRs is refused', [] as string[]),
  BERTH_NGINX_SCOPE: key(
    p.nginxScope,
    'shared: one Nginx includes every environment (domains and tcp ports conflict across them); per-env',
    'shared' as NginxScope,
  ),
  BERTH_LOG_LEVEL: key(p.oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'), 'pino log level', 'info'),
} as const;

export type KeyName = keyof typeof KEYS;
type Values = { [K in KeyName]: (typeof KEYS)[K] extends Key<infer T> ? T | undefined : never };

/**
 * With a main conf the plain `nginx -t` would test the live folder, not the change: it becomes a
 * test of the candidate. Any other command is the operator's, used as given.
 */
function testCommand(testCmd: string, mainConf: string): string {
  return mainConf && testCmd.trim() === 'nginx -t' ? 'nginx -t -c "$BERTH_NGINX_CANDIDATE_CONF"' : testCmd;
}

/** Maps parsed key values to the structured Config. */
export function toConfig(v: Values): Config {
  const http = v.BERTH_HTTP_ADDR!;
  const dns = v.BERTH_DNS_ADDR!;
  return {
    marathon: {
      urls: v.BERTH_MARATHON_URLS ?? [],
      username: v.BERTH_MARATHON_USERNAME,
      password: v.BERTH_MARATHON_PASSWORD,
      token: v.BERTH_MARATHON_TOKEN,
      maxResponseBytes: v.BERTH_MARATHON_MAX_RESPONSE_BYTES!,
      maxEventBytes: v.BERTH_MARATHON_MAX_EVENT_BYTES!,
    },
    databaseUrl: v.BERTH_DATABASE_URL,
    dataDir: v.BERTH_DATA_DIR!,
    http,
    apiTokens: v.BERTH_API_TOKENS ?? [],
    apiAllowedOrigins: v.BERTH_API_ALLOWED_ORIGINS ?? [],
    apiAllowedHosts: v.BERTH_API_ALLOWED_HOSTS ?? [],
    auditRetention: { days: v.BERTH_AUDIT_RETENTION_DAYS!, maxRows: v.BERTH_AUDIT_MAX_ROWS!, intervalMs: v.BERTH_AUDIT_PRUNE_INTERVAL_MS! },
    dns: {
      host: dns.host,
      port: dns.port,
      zones: v.BERTH_DNS_ZONES!,
      ttl: v.BERTH_DNS_TTL!,
      forwarders: v.BERTH_DNS_FORWARDERS ?? [],
      transferAllow: v.BERTH_DNS_TRANSFER_ALLOW ?? [],
      notify: v.BERTH_DNS_NOTIFY ?? [],
      envByEcs: v.BERTH_DNS_ENV_BY_ECS === 'true',
    },
    dnsLimits: {
      tcpDeadlineMs: v.BERTH_DNS_TCP_DEADLINE_MS!,
      tcpIdleMs: v.BERTH_DNS_TCP_IDLE_MS!,
      tcpMaxConnections: v.BERTH_DNS_TCP_MAX!,
      tcpPerSource: v.BERTH_DNS_TCP_PER_SOURCE!,
      rrlResponsesPerSecond: v.BERTH_DNS_RRL_RESPONSES_PER_SECOND!,
      rrlWindowSeconds: v.BERTH_DNS_RRL_WINDOW_S!,
      rrlSlip: v.BERTH_DNS_RRL_SLIP!,
      udpAmplificationMax: v.BERTH_DNS_UDP_AMPLIFICATION_MAX!,
    },
    nginx: {
      dir: v.BERTH_NGINX_DIR!,
      templates: v.BERTH_NGINX_TEMPLATES!,
      httpListen: v.BERTH_NGINX_HTTP_LISTEN!,
      testCmd: testCommand(v.BERTH_NGINX_TEST_CMD ?? '', v.BERTH_NGINX_MAIN_CONF ?? ''),
      reloadCmd: v.BERTH_NGINX_RELOAD_CMD ?? '',
      mainConf: v.BERTH_NGINX_MAIN_CONF || null,
      quarantineMaxMs: v.BERTH_NGINX_QUARANTINE_MAX_MS!,
      adminListen: v.BERTH_NGINX_ADMIN_LISTEN ?? '',
      confirmTimeoutMs: v.BERTH_NGINX_CONFIRM_TIMEOUT_MS!,
      errorLog: v.BERTH_NGINX_ERROR_LOG || undefined,
      dynamic: v.BERTH_NGINX_DYNAMIC ?? 'off',
      httpsListen: v.BERTH_NGINX_HTTPS_LISTEN!,
    },
    tls: {
      dir: v.BERTH_TLS_DIR ?? '',
      expiryWarnDays: v.BERTH_TLS_EXPIRY_WARN_DAYS!,
    },
    syncIntervalMs: v.BERTH_SYNC_INTERVAL_MS!,
    resyncIntervalMs: v.BERTH_RESYNC_INTERVAL_MS!,
    marathonFailureGraceMs: v.BERTH_MARATHON_FAILURE_GRACE_MS!,
    labelPrefix: v.BERTH_LABEL_PREFIX!,
    labelsDeny: v.BERTH_LABELS_DENY ?? [],
    defaultEnv: v.BERTH_DEFAULT_ENV!,
    environments: v.BERTH_ENVIRONMENTS ?? {},
    maxRemovalRatio: v.BERTH_MAX_REMOVAL_RATIO!,
    logLevel: v.BERTH_LOG_LEVEL!,
    fixedIp: { allow: v.BERTH_FIXED_IP_ALLOW_CIDRS ?? [], deny: v.BERTH_FIXED_IP_DENY_CIDRS ?? [] },
    nginxScope: v.BERTH_NGINX_SCOPE ?? 'shared',
  };
}
