import type { Problem } from './types';

/**
 * Stable problem codes (contract: API clients and alerts match on them). One app can have several.
 * Label codes name the label; the rest name the rule that was broken.
 */
export const PROBLEM_CODES = {
  /** `berth.domain` is empty, too long, has an empty/oversized label or characters outside LDH. */
  LABEL_DOMAIN_INVALID: 'LABEL_DOMAIN_INVALID',
  /** `berth.port` is neither a port number 1..65535 nor a valid port name; or the `<port>` of `berth.port.<port>.*` is neither a name nor an index. */
  LABEL_PORT_INVALID: 'LABEL_PORT_INVALID',
  /** `berth.port` (or `berth.port.<port>.*`) names a port the app does not declare (or the app declares no port at all). */
  PORT_NOT_FOUND: 'PORT_NOT_FOUND',
  /** Per-port labels name more ports than one app may publish (rules MAX_PUBLISHED_PORTS). */
  PORT_LABELS_TOO_MANY: 'PORT_LABELS_TOO_MANY',
  /** One declared port is published by two sets of labels (`berth.domain` and `berth.port.<port>.*`, or a name and an index). */
  PORT_PUBLISHED_TWICE: 'PORT_PUBLISHED_TWICE',
  /** Two services of one app (two ports, or a port and the main service) claim the same domain or tcp listen port. */
  PORT_CLAIM_DUPLICATE: 'PORT_CLAIM_DUPLICATE',
  /** `berth.ip` (or the Docker `ip` parameter) is not an IP literal. */
  LABEL_IP_INVALID: 'LABEL_IP_INVALID',
  /** `berth.ip=auto` reached Marathon without `/v1/apps/prepare` filling in an address. */
  FIXED_IP_UNRESOLVED: 'FIXED_IP_UNRESOLVED',
  /** `berth.ip` and the Docker `ip` parameter disagree. */
  FIXED_IP_MISMATCH: 'FIXED_IP_MISMATCH',
  /** A fixed IP on an app with more than one instance: Docker would give all of them the same `--ip`. */
  FIXED_IP_MULTIPLE_INSTANCES: 'FIXED_IP_MULTIPLE_INSTANCES',
  /** `berth.env` is not `[a-z0-9-]{1,32}`. */
  LABEL_ENV_INVALID: 'LABEL_ENV_INVALID',
  /** `berth.proxy` is not `http`, `tcp` or `none`. */
  LABEL_PROXY_INVALID: 'LABEL_PROXY_INVALID',
  /** `berth.listen` is not a port number 1..65535. */
  LABEL_LISTEN_INVALID: 'LABEL_LISTEN_INVALID',
  /** `berth.proxy=tcp` without `berth.listen`. */
  LABEL_LISTEN_REQUIRED: 'LABEL_LISTEN_REQUIRED',
  /** `berth.dns` is not `direct`, `proxy` or `none`. */
  LABEL_DNS_INVALID: 'LABEL_DNS_INVALID',
  /** `berth.timeout.connect` / `berth.timeout.read` is not whole seconds within its bounds. */
  LABEL_TIMEOUT_INVALID: 'LABEL_TIMEOUT_INVALID',
  /** `berth.body.max` is not a size 1..1g (digits with optional k/m/g). */
  LABEL_BODY_MAX_INVALID: 'LABEL_BODY_MAX_INVALID',
  /** `berth.allow` is not a list of 1..64 addresses/CIDRs. */
  LABEL_ALLOW_INVALID: 'LABEL_ALLOW_INVALID',
  /** `berth.sticky` is not `off`, `cookie` or `ip`. */
  LABEL_STICKY_INVALID: 'LABEL_STICKY_INVALID',
  /** An HTTP-only option (`berth.timeout.read`, `berth.body.max`, `berth.sticky=cookie`) on an app with a tcp service. */
  LABEL_NOT_FOR_TCP: 'LABEL_NOT_FOR_TCP',
  /** `berth.path` is not a list of 1..16 safe prefixes, `berth.path.strip` is not true/false, or the app's service is not `http`. */
  LABEL_PATH_INVALID: 'LABEL_PATH_INVALID',
  /** The app uses a label the operator forbids (`BERTH_LABELS_DENY`); the app is not published. */
  LABEL_DENIED: 'LABEL_DENIED',
  /** Another, older app in the same Nginx name space (every environment when Nginx is shared) already has this domain. */
  DOMAIN_CONFLICT: 'DOMAIN_CONFLICT',
  /** Another, older app on the same domain (same Nginx name space and environment) already has this `berth.path` prefix. */
  PATH_CONFLICT: 'PATH_CONFLICT',
  /** Another, older tcp app in the same Nginx name space already listens on this port. */
  LISTEN_CONFLICT: 'LISTEN_CONFLICT',
  /** The database refused this app's data (raised by the registry; the app's previous state is kept). */
  REGISTRY_WRITE_FAILED: 'REGISTRY_WRITE_FAILED',
  /** The IPAM pool says this fixed IP belongs to another app (raised by the IPAM reconciliation). */
  FIXED_IP_CONFLICT: 'FIXED_IP_CONFLICT',

  // Raised by the Nginx sync (source `nginx`): the app is in the registry and in DNS, but its
  // Nginx file is not written (or the previous one is kept).
  /** The service cannot be rendered safely (a value would break out of the Nginx syntax). */
  NGINX_INVALID_SERVICE: 'NGINX_INVALID_SERVICE',
  /** The template failed for this service. */
  NGINX_RENDER_FAILED: 'NGINX_RENDER_FAILED',
  /** Another tcp service in the same environment already listens on this port in Nginx. */
  NGINX_LISTEN_CONFLICT: 'NGINX_LISTEN_CONFLICT',
  /** The Nginx test command rejected this service's file (confirmed by a second run); kept out, retried with backoff and when the app definition changes. */
  NGINX_CONFIG_REJECTED: 'NGINX_CONFIG_REJECTED',
  /** The tcp service's `berth.listen` port is held by another process on the Nginx host; left out until the port is free. */
  NGINX_PORT_IN_USE: 'NGINX_PORT_IN_USE',

  // Untrusted input, addresses and reserved names (src/rules decides; the model raises these).
  /** The Marathon app id is unusable (NUL, control characters, lone surrogates, too long, not a PathId); keyed by a safe form of the id. */
  APP_ID_INVALID: 'APP_ID_INVALID',
  /** A berth label key or value holds NUL, a lone surrogate, a control character or is too long; the value is shown escaped. */
  LABEL_INVALID_STRING: 'LABEL_INVALID_STRING',
  /** A fixed IP is loopback, unspecified, link-local, multicast, denied or outside the allowed ranges. */
  FIXED_IP_REFUSED: 'FIXED_IP_REFUSED',
  /** An endpoint (fixed IP, task address or agent) is one of berth's own sockets or its database. */
  ENDPOINT_SELF: 'ENDPOINT_SELF',
  /** A fixed IP inside a managed pool that the pool has not allocated to anyone. */
  IP_NOT_ALLOCATED: 'IP_NOT_ALLOCATED',
  /** A fixed IP inside a managed pool that the pool has allocated to another app. */
  IP_ALLOCATED_TO_OTHER: 'IP_ALLOCATED_TO_OTHER',
  /** `berth.tls` is not `off`, `on` or `redirect`. */
  LABEL_TLS_INVALID: 'LABEL_TLS_INVALID',
  /** `berth.tls.hsts` is not an integer number of seconds 0..63072000. */
  LABEL_HSTS_INVALID: 'LABEL_HSTS_INVALID',
  /** TLS asked for, but no TLS directory is configured or it holds no pair for a domain: served on plain HTTP only. */
  TLS_CERT_MISSING: 'TLS_CERT_MISSING',
  /** A certificate pair is unreadable, too large, not PEM, for another name, expired, not yet valid or not matching its key: plain HTTP only. */
  TLS_CERT_INVALID: 'TLS_CERT_INVALID',
  /** A certificate in use expires within BERTH_TLS_EXPIRY_WARN_DAYS; still served. */
  TLS_CERT_EXPIRING: 'TLS_CERT_EXPIRING',
  /** A domain berth answers itself: a zone apex, its name server, the SOA mailbox, a task name, the reverse tree. */
  DOMAIN_RESERVED: 'DOMAIN_RESERVED',
} as const;

export type ProblemCode = (typeof PROBLEM_CODES)[keyof typeof PROBLEM_CODES];

/** Build a problem; `since` is stamped by the registry when it is first stored. */
export function problem(code: ProblemCode, appId: string, env: string | null, message: string, details?: Record<string, unknown>): Problem {
  return details ? { code, appId, env, message, details } : { code, appId, env, message };
}

/** Stable identity of a problem: one per (app, code). */
export function problemKey(p: Pick<Problem, 'appId' | 'code'>): string {
  return `${p.appId}\u0000${p.code}`;
}
