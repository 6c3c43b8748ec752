import Handlebars from 'handlebars';
import type { Service } from '../model/types';
import { PROBLEM_CODES } from '../model/problems';
import { servicePath, serviceUpstreamName } from './names';
import { serviceKey } from '../model/service-key';
import { isPortRef, PROXY_OPTION_LIMITS } from '../rules';
import { isValidAppId, isValidEnv, parseListen, serviceErrors } from './validate';
import { tlsPlanKey, type TlsPlan, type TlsServer } from './tls-catalog';
import { groupKey, matchesOf, renderGroup, sharedDomainKeys, type Route } from './shared-domains';

/** HTTPS for services with `berth.tls` (the sync resolves certificates first, tls-catalog.ts). */
export interface TlsRenderInput {
  /** BERTH_NGINX_HTTPS_LISTEN: port or addr:port. */
  httpsListen: string;
  plans: ReadonlyMap<string, TlsPlan>;
}

/** Compiled templates, one per proxy kind. */
export interface Templates {
  http: (ctx: TemplateContext) => string;
  stream: (ctx: TemplateContext) => string;
  /** `http-lua.conf.hbs`, loaded for `BERTH_NGINX_DYNAMIC=lua` only. */
  httpLua?: (ctx: TemplateContext) => string;
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

/** A rendered file, addressed relative to the Nginx dir. */
export interface RenderedFile {
  path: string;
  env: string;
  appId: string;
  content: string;
  /** Upstream servers in this file (for the mass-removal guard). */
  servers: number;
  /** Changes whenever the service definition changes; used to retry a rejected service. */
  definitionKey: string;
}

/** A service that was not rendered, and why. */
export interface RenderRejection {
  env: string;
  appId: string;
  code:
    | typeof PROBLEM_CODES.NGINX_INVALID_SERVICE
    | typeof PROBLEM_CODES.NGINX_RENDER_FAILED
    | typeof PROBLEM_CODES.NGINX_LISTEN_CONFLICT
    | typeof PROBLEM_CODES.NGINX_PORT_IN_USE;
  message: string;
  /** The service's file, when its names are valid: its previous file is kept as it is. */
  path: string | null;
}

export interface RenderResult {
  files: RenderedFile[];
  rejected: RenderRejection[];
}

/** Compiles template sources. `noEscape`: the output is Nginx syntax, not HTML; values are validated instead. */
export function compileTemplates(sources: { http: string; stream: string; httpLua?: string }): Templates {
  const hb = Handlebars.create();
  const opts = { noEscape: true, strict: false };
  const compiled: Templates = { http: hb.compile(sources.http, opts), stream: hb.compile(sources.stream, opts) };
  if (sources.httpLua !== undefined) compiled.httpLua = hb.compile(sources.httpLua, opts);
  return compiled;
}

const HEADER = /^# berth: .*\bservers=(\d+)/m;

/** Upstream servers recorded in a file's header by `renderServices`; 0 for foreign files. */
export function serversInFile(content: string): number {
  const m = HEADER.exec(content);
  return m ? Number(m[1]) : 0;
}

/** `address:port`, IPv6 in brackets (also the endpoint syntax of the Lua dict). */
export function target(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * `shared`: the service's domains that are shared by path: they leave its own servers (the
 * domain's file serves them), so a service whose every domain is shared renders its upstream only.
 */
function contextFor(
  s: Service,
  listen: { http: string; host: string | null },
  dynamic: boolean,
  tls?: TlsRenderInput,
  shared: ReadonlySet<string> = NONE,
  routes?: Route[],
): TemplateContext {
  const proxy = s.proxy === 'tcp' ? 'tcp' : 'http';
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
    upstream: serviceUpstreamName(s),
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
    ...tlsPart,
    routesOnly: routes !== undefined,
    routes: routes ?? [],
  };
}

const NONE: ReadonlySet<string> = new Set();

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

/** Stable key of everything but the endpoints; changes when the app definition changes. */
export function definitionKey(s: Service): string {
  const { endpoints: _endpoints, ...definition } = s;
  return JSON.stringify(definition);
}

interface MemoEntry {
  errs: string[];
  body?: string;
  error?: string;
  /** The whole file (header + body) and definition key, made once per entry: the same string object every run, so comparing it with what berth last wrote is a pointer check. */
  content?: string;
  definitionKey?: string;
}

/**
 * Validation and template output per exact service value, kept from one run to the next: most
 * runs change a few services, and rendering 10,000 through Handlebars holds the event loop (which
 * also serves DNS) for about half a second. Entries unused in a run are dropped after it.
 */
export class RenderMemo {
  private prev = new Map<string, MemoEntry>();
  private next = new Map<string, MemoEntry>();
  // Registry services are immutable values and an unchanged one is the same object from run to
  // run: found by identity, it costs no JSON.stringify (at 10,000 services that was most of the
  // garbage each run made, and the collector's pauses delayed DNS answers).
  private byObject = new WeakMap<Service, { key: string; entry: MemoEntry }>();

  lookup(key: string, compute: () => MemoEntry): MemoEntry {
    const entry = this.next.get(key) ?? this.prev.get(key) ?? compute();
    this.next.set(key, entry);
    return entry;
  }

  /**
   * `lookup` by the service value, skipping the key for a service object seen before. `keyOf`:
   * what identifies the output (the whole service by default; its definition when endpoints are not rendered).
   */
  forService(s: Service, compute: () => MemoEntry, keyOf: (s: Service) => string = JSON.stringify): MemoEntry {
    const known = this.byObject.get(s);
    if (known && (this.next.get(known.key) ?? this.prev.get(known.key)) === known.entry) {
      this.next.set(known.key, known.entry);
      return known.entry;
    }
    const key = keyOf(s);
    const entry = this.lookup(key, compute);
    this.byObject.set(s, { key, entry });
    return entry;
  }

  /** Ends a run: what was not looked up in it is forgotten. */
  rotate(): void {
    this.prev = this.next;
    this.next = new Map();
  }
}

/**
 * Renders one file per service with proxy `http` or `tcp`. Pure: services whose values fail
 * validation, whose template throws, or whose TCP listen port is already taken are rejected
 * individually, every other service is still rendered. A `memo` (for one set of templates and
 * one `httpListen` and mode) skips work for services unchanged since the last call. With `dynamic`
 * `lua`, HTTP files come from `http-lua.conf.hbs` without endpoints (their header says servers=0),
 * so a scale change leaves them byte-identical; TCP files keep their endpoints. `routeless`: paths
 * of service files that will not be on disk (held back, never written): those services' locations
 * stay out of shared domains' files, which would otherwise name an upstream Nginx does not know.
 */
export function renderServices(
  services: readonly Service[],
  templates: Templates,
  httpListen: string,
  memo?: RenderMemo,
  dynamic: DynamicMode = 'off',
  tls?: TlsRenderInput,
  routeless?: ReadonlySet<string>,
): RenderResult {
  const lua = dynamic === 'lua';
  if (lua && !templates.httpLua) throw new Error('BERTH_NGINX_DYNAMIC=lua needs the http-lua.conf.hbs template');
  const { host } = parseListen(httpListen);
  const listen = { http: httpListen.trim(), host };
  const files: RenderedFile[] = [];
  const rejected: RenderRejection[] = [];
  const paths = new Set<string>();
  const tcpPorts = new Map<string, string>();
  const sorted = [...services].sort(byEnvThenId);
  const sharedKeys = sharedDomainKeys(sorted, (s) => serviceErrors(s).length === 0);
  const sharedOf = (s: Service): ReadonlySet<string> =>
    sharedKeys.size === 0 || s.proxy !== 'http' || !Array.isArray(s.domains) ? NONE : new Set(s.domains.filter((d) => sharedKeys.has(groupKey(s.env, d))));
  const accepted: Service[] = [];
  for (const s of sorted) {
    if (s.proxy === 'none') continue;
    const dyn = lua && s.proxy === 'http';
    const shared = sharedOf(s);
    const render = (): MemoEntry => {
      const errs = serviceErrors(s);
      if (errs.length > 0) return { errs };
      try {
        const template = s.proxy === 'tcp' ? templates.stream : dyn ? templates.httpLua! : templates.http;
        return { errs, body: template(contextFor(s, listen, dyn, tls, shared)) };
      } catch (err) {
        return { errs, error: (err as Error).message };
      }
    };
    // A dynamic file is keyed by the definition only: a scale change finds the same entry, the same string.
    const keyOf = dyn ? definitionKey : JSON.stringify;
    // A `/` app's file also depends on which of its domains other apps share by path (a path app's
    // every domain is shared, so its own value says it all).
    const entry = !memo
      ? render()
      : s.paths === undefined && shared.size > 0
        ? memo.lookup(`${keyOf(s)}\u0000shared\u0000${[...shared].join(' ')}`, render)
        : memo.forService(s, render, keyOf);
    const errs = entry.errs;
    if (errs.length > 0) {
      const named = isValidEnv(s.env) && isValidAppId(s.appId) && (s.port === undefined || isPortRef(s.port)) && (s.proxy === 'http' || s.proxy === 'tcp');
      const path = named ? servicePath(s, s.proxy === 'tcp' ? 'tcp' : 'http') : null;
      rejected.push({ env: String(s.env), appId: String(s.appId), code: PROBLEM_CODES.NGINX_INVALID_SERVICE, message: errs.join('; '), path });
      continue;
    }
    const path = servicePath(s, s.proxy === 'tcp' ? 'tcp' : 'http');
    if (paths.has(path)) continue; // the registry keeps one service per (env, app id, port); a duplicate is ignored
    if (s.proxy === 'tcp') {
      // One environment's `stream {}` cannot listen twice on a port (`nginx -t` would fail). Across
      // environments it depends on whether they share an Nginx; there `nginx -t` and the bisection decide.
      const portKey = `${s.env} ${s.listen}`;
      const owner = tcpPorts.get(portKey);
      if (owner) {
        rejected.push({
          env: s.env,
          appId: s.appId,
          code: PROBLEM_CODES.NGINX_LISTEN_CONFLICT,
          message: `listen port ${s.listen} is already used by ${owner} in ${s.env}`,
          path,
        });
        continue;
      }
      tcpPorts.set(portKey, serviceKey(s));
    }
    if (entry.body === undefined) {
      rejected.push({ env: s.env, appId: s.appId, code: PROBLEM_CODES.NGINX_RENDER_FAILED, message: `template failed: ${entry.error}`, path });
      continue;
    }
    paths.add(path);
    const servers = dyn ? 0 : s.endpoints.length;
    // `serviceKey`: the app id, plus `#<port>` for a per-port service (a comment: `#` is inert there).
    entry.content ??= `# berth: ${serviceKey(s)} in ${s.env}, servers=${servers}; generated, do not edit\n${entry.body}`;
    entry.definitionKey ??= definitionKey(s);
    files.push({ path, env: s.env, appId: s.appId, content: entry.content, servers, definitionKey: entry.definitionKey });
    if (s.proxy === 'http') accepted.push(s);
  }
  if (sharedKeys.size > 0)
    renderSharedDomains(
      routeless ? accepted.filter((s) => !routeless.has(servicePath(s, 'http'))) : accepted,
      sharedKeys,
      { templates, listen: listen.http, lua, tls, memo },
      files,
      rejected,
    );
  return { files, rejected };
}

/**
 * Adds the file of every shared domain (shared-domains.ts) to `files`. Members are the services
 * rendered above; one that would repeat a location another member already has (two `/` apps, one
 * prefix twice: the registry's conflict rule keeps that from happening) is rejected, its own file
 * with it, so one bad member never breaks the domain's file.
 */
function renderSharedDomains(
  accepted: readonly Service[],
  sharedKeys: ReadonlySet<string>,
  opts: { templates: Templates; listen: string; lua: boolean; tls?: TlsRenderInput; memo?: RenderMemo },
  files: RenderedFile[],
  rejected: RenderRejection[],
): void {
  const groups = new Map<string, { env: string; domain: string; members: Service[] }>();
  for (const s of accepted)
    for (const d of s.domains) {
      const k = groupKey(s.env, d);
      if (!sharedKeys.has(k)) continue;
      const g = groups.get(k) ?? { env: s.env, domain: d, members: [] };
      g.members.push(s);
      groups.set(k, g);
    }
  const losers = new Map<Service, string>();
  for (const g of groups.values()) {
    const taken = new Map<string, string>();
    for (const m of g.members) {
      const clash = matchesOf(m).find((r) => taken.has(r.match));
      if (clash) {
        if (!losers.has(m)) losers.set(m, `location ${clash.match} on ${g.domain} is already served by ${taken.get(clash.match)}`);
        continue;
      }
      for (const r of matchesOf(m)) taken.set(r.match, serviceKey(m));
    }
  }
  const rejectMember = (m: Service, code: RenderRejection['code'], message: string) => {
    const path = servicePath(m, 'http');
    rejected.push({ env: m.env, appId: m.appId, code, message, path });
    const i = files.findIndex((f) => f.path === path);
    if (i >= 0) files.splice(i, 1);
  };
  for (const [m, why] of losers) rejectMember(m, PROBLEM_CODES.NGINX_INVALID_SERVICE, why);
  const httpsListen = opts.tls?.httpsListen.trim() ?? '';
  const template = opts.lua ? opts.templates.httpLua! : opts.templates.http;
  for (const g of groups.values()) {
    const members = g.members.filter((m) => !losers.has(m));
    if (members.length === 0) continue;
    const https = domainHttps(g.domain, members, opts.tls);
    const failed: Array<[Service, string]> = [];
    const snippet = (m: Service, routes: Route[]): string => {
      const compute = (): MemoEntry => {
        try {
          const ctx = contextFor(m, { http: opts.listen, host: null }, opts.lua, opts.tls, NONE, routes);
          if (https) ctx.httpsPortSuffix = httpsPortSuffix(httpsListen);
          return { errs: [], body: template(ctx) };
        } catch (err) {
          return { errs: [], error: (err as Error).message };
        }
      };
      // Locations depend on the definition, the routes, the HTTPS port and (file mode) whether any task serves.
      const key = `routes\u0000${definitionKey(m)}\u0000${JSON.stringify(routes)}\u0000${https ? httpsListen : ''}\u0000${opts.lua || m.endpoints.length > 0}`;
      const entry = opts.memo ? opts.memo.lookup(key, compute) : compute();
      if (entry.body === undefined) failed.push([m, entry.error ?? 'no output']);
      return entry.body ?? '';
    };
    const file = renderGroup({ env: g.env, domain: g.domain, members, listen: opts.listen, https, snippet, definitionKey });
    if (failed.length > 0) {
      // A member whose template throws leaves the domain's previous file as it is.
      for (const [m, error] of failed)
        rejected.push({ env: m.env, appId: m.appId, code: PROBLEM_CODES.NGINX_RENDER_FAILED, message: `template failed: ${error}`, path: file.path });
      continue;
    }
    const owner = members.find((m) => m.paths === undefined) ?? members[0];
    files.push({ path: file.path, env: g.env, appId: owner.appId, content: file.content, servers: 0, definitionKey: file.definitionKey });
  }
}

/** The HTTPS server of a shared domain: the first member with `berth.tls` whose certificate covers the name; null without. */
function domainHttps(domain: string, members: readonly Service[], tls: TlsRenderInput | undefined): (TlsServer & { listen: string }) | null {
  if (!tls) return null;
  for (const m of members) {
    if (m.tls === undefined) continue;
    const server = tls.plans.get(tlsPlanKey(m))?.servers.find((t) => t.serverNames.split(' ').includes(domain));
    if (server) return { ...server, serverNames: domain, listen: tls.httpsListen.trim() };
  }
  return null;
}

function httpsPortSuffix(httpsListen: string): string {
  const port = parseListen(httpsListen).port;
  return port === 443 ? '' : `:${port}`;
}

/**
 * The order of `env + appId` as one string (the order files have always been rendered in, which
 * decides who keeps a contested TCP port), compared without building the two strings.
 */
function byEnvThenId(a: Service, b: Service): number {
  const la = a.env.length + a.appId.length;
  const lb = b.env.length + b.appId.length;
  for (let i = 0; i < la && i < lb; i++) {
    const ca = i < a.env.length ? a.env.charCodeAt(i) : a.appId.charCodeAt(i - a.env.length);
    const cb = i < b.env.length ? b.env.charCodeAt(i) : b.appId.charCodeAt(i - b.env.length);
    if (ca !== cb) return ca - cb;
  }
  return la - lb;
}
