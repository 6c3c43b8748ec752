/**
 * What a template sees for one service: the variables of nginx-templates/README.md and how they
 * are made from a service (proxy option defaults, sticky keys, its HTTPS servers, the domains it
 * leaves to a shared domain's file). Kept apart from the render loop so every variable is defined
 * in one place, whichever file (a service's own, a shared domain's) the template renders into.
 */
import type { Service } from '../model/types';
import { serviceUpstreamName, stickyCookieName } from './names';
import { PROXY_OPTION_LIMITS } from '../rules';
import { parseListen } from './validate';
import { tlsPlanKey, type TlsPlan, type TlsServer } from './tls-catalog';
import type { Route } from './shared-domains';

/** HTTPS for services with `berth.tls` (the sync resolves certificates first, tls-catalog.ts). */
export interface TlsRenderInput {
  /** BERTH_NGINX_HTTPS_LISTEN: port or addr:port. */
  httpsListen: string;
  plans: ReadonlyMap<string, TlsPlan>;
}

/**
 * Where HTTP endpoints live: `off` in the files (a change is a reload), `lua` in Nginx's shared
 * memory, written by the pusher (src/nginx/lua/pusher.ts): HTTP files then hold no endpoint at all.
 */
export type DynamicMode = 'off' | 'lua';

/** One upstream server as templates see it. */
export interface TemplateServer {
  address: string;
  port: number;
  /** `address:port`, IPv6 in brackets: ready for `server …;`. */
  target: string;
  taskId: string;
}

/** The variables a template gets (documented in nginx-templates/README.md). */
export interface TemplateContext {
  env: string;
  appId: string;
  upstream: string;
  domains: string[];
  serverNames: string;
  primaryDomain: string;
  listen: string;
  servers: TemplateServer[];
  hasServers: boolean;
  proxy: 'http' | 'tcp';
  servicePort: number;
  portName: string | null;
  fixedIp: string | null;
  /** Proxy options with their defaults filled in (`berth.timeout.*`, in seconds). */
  connectTimeout: number;
  readTimeout: number;
  /** `berth.body.max` in bytes; null: Nginx's own (http.conf's) limit. */
  bodyMax: number | null;
  /** `berth.allow` entries; empty: every client. */
  allow: string[];
  /** `berth.sticky`, or null. */
  sticky: 'cookie' | 'ip' | null;
  /**
   * Name (without `$`) of the Nginx variable a sticky upstream hashes on: `binary_remote_addr` for
   * `ip`, `berth_sticky_key` for `cookie` (set in the server block from the cookie); null when not sticky.
   */
  stickyKey: string | null;
  /** With `berth.sticky=cookie`: the cookie's name, `berth_<16 hex>`, one per upstream. */
  stickyCookie: string | null;
  /** One HTTPS server per certificate in use (empty without TLS); `listen` is BERTH_NGINX_HTTPS_LISTEN. */
  tlsServers: Array<TlsServer & { listen: string }>;
  hasTls: boolean;
  /** Plain HTTP answers 308 to HTTPS (`berth.tls=redirect` and every domain has a certificate). */
  redirect: boolean;
  /** `:<port>` for the redirect target when HTTPS is not on 443, else empty. */
  httpsPortSuffix: string;
  /** `berth.tls.hsts` max-age, or null. */
  hsts: number | null;
  /**
   * True when the template renders only this service's locations for a domain shared by path
   * (docs/nginx.md "Path prefixes"): `routes`, each with its limits, no upstream and no server.
   */
  routesOnly: boolean;
  /** The locations on a shared domain (with `routesOnly`); empty otherwise. */
  routes: Route[];
}

/** `address:port`, IPv6 in brackets (also the endpoint syntax of the Lua dict). */
export function target(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

function stickyContext(upstream: string, sticky: 'cookie' | 'ip' | undefined): Pick<TemplateContext, 'sticky' | 'stickyKey' | 'stickyCookie'> {
  if (sticky === 'ip') return { sticky, stickyKey: 'binary_remote_addr', stickyCookie: null };
  if (sticky === 'cookie') return { sticky, stickyKey: 'berth_sticky_key', stickyCookie: stickyCookieName(upstream) };
  return { sticky: null, stickyKey: null, stickyCookie: null };
}

/** No domain shared by path (most services): one empty set for all of them. */
export const NO_SHARED: ReadonlySet<string> = new Set();

/**
 * `shared`: the service's domains that are shared by path: they leave its own servers (the
 * domain's file serves them), so a service whose every domain is shared renders its upstream only.
 */
export function contextFor(
  s: Service,
  listen: { http: string; host: string | null },
  dynamic: boolean,
  tls?: TlsRenderInput,
  shared: ReadonlySet<string> = NO_SHARED,
  routes?: Route[],
): TemplateContext {
  const proxy = s.proxy === 'tcp' ? 'tcp' : 'http';
  const upstream = serviceUpstreamName(s);
  // Dynamic HTTP files must not depend on endpoints: the template sees none.
  const servers = (dynamic ? [] : s.endpoints).map((e) => ({ address: e.address, port: e.port, target: target(e.address, e.port), taskId: e.taskId }));
  const domains = shared.size === 0 ? [...s.domains] : s.domains.filter((d) => !shared.has(d));
  const tlsPart = tlsContext(s, tls);
  if (shared.size > 0) {
    tlsPart.tlsServers = tlsPart.tlsServers.flatMap((t) => {
      const names = t.serverNames.split(' ').filter((n) => !shared.has(n));
      return names.length > 0 ? [{ ...t, serverNames: names.join(' ') }] : [];
    });
    tlsPart.hasTls = tlsPart.tlsServers.length > 0;
  }
  return {
    env: s.env,
    appId: s.appId,
    upstream,
    domains,
    serverNames: domains.join(' '),
    primaryDomain: domains[0] ?? s.domains[0],
    listen: proxy === 'tcp' ? (listen.host ? `${listen.host}:${s.listen}` : String(s.listen)) : listen.http,
    servers,
    hasServers: servers.length > 0,
    proxy,
    servicePort: s.servicePort,
    portName: s.portName,
    fixedIp: s.fixedIp,
    connectTimeout: s.options?.connectTimeout ?? PROXY_OPTION_LIMITS.connectTimeout.default,
    readTimeout: s.options?.readTimeout ?? PROXY_OPTION_LIMITS.readTimeout.default,
    bodyMax: s.options?.bodyMax ?? null,
    allow: s.options?.allow ? [...s.options.allow] : [],
    ...stickyContext(upstream, s.options?.sticky),
    ...tlsPart,
    routesOnly: routes !== undefined,
    routes: routes ?? [],
  };
}

function tlsContext(s: Service, tls: TlsRenderInput | undefined): Pick<TemplateContext, 'tlsServers' | 'hasTls' | 'redirect' | 'httpsPortSuffix' | 'hsts'> {
  const plan = tls && s.tls !== undefined && s.proxy === 'http' ? tls.plans.get(tlsPlanKey(s)) : undefined;
  if (!tls || !plan || plan.servers.length === 0) return { tlsServers: [], hasTls: false, redirect: false, httpsPortSuffix: '', hsts: null };
  const listen = tls.httpsListen.trim();
  return {
    tlsServers: plan.servers.map((x) => ({ ...x, listen })),
    hasTls: true,
    redirect: plan.redirect,
    httpsPortSuffix: httpsPortSuffix(listen),
    hsts: plan.hsts,
  };
}

/** The `:<port>` a redirect to HTTPS needs, empty on 443. */
export function httpsPortSuffix(httpsListen: string): string {
  const port = parseListen(httpsListen).port;
  return port === 443 ? '' : `:${port}`;
}
