import Handlebars from 'handlebars';
import type { Service } from '../model/types';
import { PROBLEM_CODES } from '../model/problems';
import { isDomainGroupPath, servicePath, serviceUpstreamName, stickyCookieName } from './names';
import { serviceKey } from '../model/service-key';
import { isPortRef, PROXY_OPTION_LIMITS } from '../rules';
import { isValidAppId, isValidEnv, parseListen, serviceErrors } from './validate';
import { tlsPlanKey, type TlsPlan, type TlsServer } from './tls-catalog';
import { groupKey, matchesOf, renderGroup, sharedDomainKeys, type Route } from './shared-domains';
import { loopTurn, SLICE_MS } from '../slices';

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

function stickyContext(upstream: string, sticky: 'cookie' | 'ip' | undefined): Pick<TemplateContext, 'sticky' | 'stickyKey' | 'stickyCookie'> {
  if (sticky === 'ip') return { sticky, stickyKey: 'binary_remote_addr', stickyCookie: null };
  if (sticky === 'cookie') return { sticky, stickyKey: 'berth_sticky_key', stickyCookie: stickyCookieName(upstream) };
  return { sticky: null, stickyKey: null, stickyCookie: null };
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
  key: string;
  errs: string[];
  /** The template output, until the entry's file is made from it. */
  body?: string;
  error?: string;
  /** The file, made once per entry: the same object (and content string) every run, so comparing it with what berth last wrote is a pointer check. */
  file?: RenderedFile;
  /** The memo run that last used this entry; dropped: forgotten by `rotate` (an object still pointing at it must render again). */
  used: number;
  dropped?: boolean;
}

type Computed = Omit<MemoEntry, 'used' | 'key'>;

/** What one render position produced. */
type Outcome = RenderedFile | RenderRejection | undefined;
const NOTHING = 0;
const FILE = 1;
const REJECTED = 2;

/** A run's services, memo entries and outcomes by render position. */
interface Positions {
  services: Service[];
  entries: Array<MemoEntry | undefined>;
  kinds: Uint8Array;
  outcomes: Outcome[];
  /** No two positions had the same file path (so one position's outcome never depends on another's). */
  distinct: boolean;
  /**
   * What the shared domains (`berth.path`) added to the run: their files and rejections, and the
   * files of members it refused; null when no domain was shared. A patch keeps it as it is (it
   * only patches services that neither are path apps nor are on a shared domain, before and after).
   */
  group: GroupPart | null;
}

interface GroupPart {
  files: RenderedFile[];
  rejected: RenderRejection[];
  removed: ReadonlySet<string>;
}

const positions = (n: number): Positions => ({
  services: new Array(n),
  entries: new Array(n),
  kinds: new Uint8Array(n),
  outcomes: new Array(n),
  distinct: true,
  group: null,
});

/**
 * Validation, template output and the rendered file per exact service value, kept from one run to
 * the next: most runs change a few services, and rendering 10,000 through Handlebars holds the
 * event loop (which also serves DNS) for seconds. Entries unused in a run are dropped after it.
 * The key is the whole service value (its definition alone where endpoints are not rendered), so
 * any field a service gains is part of it without changes here.
 *
 * It also keeps what the last run made at each render position: when the registry hands out the
 * same names in the same places (a change replaces a service in place) and only HTTP services
 * changed, a run renders the changed positions and copies the rest (`changes`, `patchAt`, `assemble`), touching neither
 * the memo entries nor the files of the others; at 10,000 services that is the difference
 * between a few milliseconds and tens of them.
 */
export class RenderMemo {
  private readonly byKey = new Map<string, MemoEntry>();
  // Registry services are immutable values and an unchanged one is the same object from run to
  // run: found by identity, it costs no JSON.stringify (at 10,000 services that was most of the
  // garbage each run made, and the collector's pauses delayed DNS answers).
  private readonly byObject = new WeakMap<Service, MemoEntry>();
  private run = 0;
  /** Distinct entries used in this run. */
  private usedInRun = 0;
  private order: { input: readonly Service[]; perm: Uint32Array } | null = null;
  private previous: Positions | null = null;
  private current: Positions = positions(0);
  /** This run was a `patch`: only `released` entries may have fallen out of use. */
  private patched = false;
  private released: MemoEntry[] = [];

  lookup(key: string, compute: () => Computed): MemoEntry {
    let entry = this.byKey.get(key);
    if (!entry) this.byKey.set(key, (entry = { ...compute(), key, used: this.run - 1 }));
    return this.use(entry);
  }

  private use(entry: MemoEntry): MemoEntry {
    if (entry.used !== this.run) this.usedInRun++;
    entry.used = this.run;
    return entry;
  }

  /**
   * `lookup` by the service value, skipping the key for a service object seen before. `keyOf`:
   * what identifies the output (the whole service by default; its definition when endpoints are not rendered).
   */
  forService(s: Service, compute: (s: Service) => Computed, keyOf: (s: Service) => string = JSON.stringify): MemoEntry {
    const known = this.byObject.get(s);
    if (known && !known.dropped) return this.use(known);
    const entry = this.lookup(keyOf(s), () => compute(s));
    this.byObject.set(s, entry);
    return entry;
  }

  /**
   * `services` in render order. The registry hands out the same names in the same places from
   * one run to the next, so the previous run's order is reused after a check of the names
   * instead of sorting 10,000 services again.
   */
  sorted(services: readonly Service[]): Service[] {
    const last = this.order;
    // A copy of the list: the caller's array may change after the call (the registry's does not, a test's may).
    const input = services.slice();
    if (!last || last.input.length !== input.length || !sameNames(last.input, input)) {
      this.order = { input, perm: sortOrder(input) };
      this.previous = null; // positions no longer correspond
    } else this.order = { input, perm: last.perm };
    const sorted = Array.from(this.order.perm, (i) => input[i]);
    this.current = positions(sorted.length);
    return sorted;
  }

  /**
   * `forService` for the service at render position `i` (of `sorted`): the same object as last run's there takes its entry without a lookup.
   * `key`: the output depends on more than the service (a `/` app on a domain shared by path), look it up by this key.
   */
  at(i: number, s: Service, compute: (s: Service) => Computed, keyOf: (s: Service) => string, key?: string): MemoEntry {
    const prev = this.previous;
    // After a run with shared domains, the entry at a position may have been made for other shared names
    // (this walk is not a patch: a path app changed).
    const entry =
      key !== undefined
        ? this.lookup(key, () => compute(s))
        : prev && prev.group === null && prev.services[i] === s && prev.entries[i]
          ? this.use(prev.entries[i])
          : this.forService(s, compute, keyOf);
    this.current.services[i] = s;
    this.current.entries[i] = entry;
    return entry;
  }

  /** What position `i` produced in this run (`path`: the file it names, to tell whether two positions collide). */
  record(i: number, s: Service, outcome: Outcome, kind: number, path: string | null, seen: Set<string>): void {
    const cur = this.current;
    cur.services[i] = s;
    cur.kinds[i] = kind;
    cur.outcomes[i] = outcome;
    if (path !== null) {
      if (seen.has(path)) cur.distinct = false;
      seen.add(path);
    }
  }

  /**
   * The positions to render when only HTTP services changed in place since the last run (same
   * names, same port, HTTP before and after: the same file path, no effect on another position);
   * the others keep what they made (`patchAt` each of them, then `assemble`). Null when the whole
   * list must be rendered. `tied(s)`: the service is a path app or on a domain shared by path, so its
   * change can change other files (which names a `/` app keeps, a shared domain's file): the whole
   * list then goes through the cache.
   */
  changes(sorted: readonly Service[], tied: (s: Service) => boolean): number[] | null {
    const prev = this.previous;
    if (!prev || !prev.distinct || prev.services.length !== sorted.length) return null;
    const changed: number[] = [];
    for (let i = 0; i < sorted.length; i++) {
      const a = prev.services[i];
      const b = sorted[i];
      if (a === b) continue;
      if (a.proxy !== 'http' || b.proxy !== 'http' || changed.length > sorted.length / 8 || tied(a) || tied(b)) return null;
      changed.push(i);
    }
    this.current = prev;
    this.patched = true;
    return changed;
  }

  /** Renders position `i` again (see `changes`). */
  patchAt(i: number, s: Service, step: (s: Service, i: number) => { outcome: Outcome; kind: number }): void {
    const cur = this.current;
    const old = cur.entries[i];
    if (old) this.released.push(old);
    const { outcome, kind } = step(s, i);
    cur.services[i] = s;
    cur.kinds[i] = kind;
    cur.outcomes[i] = outcome;
  }

  /** The result of a patched run: every position's outcome, in render order. */
  assemble(): RenderResult {
    const { kinds, outcomes, group } = this.current;
    const result: RenderResult = { files: [], rejected: [] };
    for (let i = 0; i < kinds.length; i++) {
      const k = kinds[i];
      if (k === FILE) {
        const f = outcomes[i] as RenderedFile;
        if (!group?.removed.has(f.path)) result.files.push(f);
      } else if (k === REJECTED) result.rejected.push(outcomes[i] as RenderRejection);
    }
    if (group) {
      result.files.push(...group.files);
      result.rejected.push(...group.rejected);
    }
    return result;
  }

  /** What the shared domains added to this (full) run, for the patches that follow. */
  recordGroup(group: GroupPart | null): void {
    this.current.group = group;
  }

  /** Ends a run: what was not looked up in it is forgotten. */
  rotate(): void {
    if (this.patched) {
      for (const e of this.released) if (e.used !== this.run) this.drop(e);
    } else if (this.usedInRun < this.byKey.size) {
      // Every entry used (nothing changed or went away): nothing to look for.
      for (const entry of this.byKey.values()) if (entry.used !== this.run) this.drop(entry);
    }
    this.run++;
    this.usedInRun = 0;
    this.patched = false;
    this.released = [];
    this.previous = this.current;
    this.current = positions(0);
  }

  private drop(entry: MemoEntry): void {
    entry.dropped = true;
    if (this.byKey.get(entry.key) === entry) this.byKey.delete(entry.key);
  }
}

function sameNames(a: readonly Service[], b: readonly Service[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && (a[i].env !== b[i].env || a[i].appId !== b[i].appId || a[i].port !== b[i].port)) return false;
  return true;
}

/**
 * Positions of `services` in the order of `env + appId` as one string (the order files have always
 * been rendered in, which decides who keeps a contested TCP port); equal names keep their order.
 */
function sortOrder(services: readonly Service[]): Uint32Array {
  const keys = services.map((s) => `${s.env}${s.appId}`);
  const perm = Array.from(services.keys()).sort((x, y) => (keys[x] < keys[y] ? -1 : keys[x] > keys[y] ? 1 : x - y));
  return Uint32Array.from(perm);
}

/**
 * Renders one file per service with proxy `http` or `tcp`, and one per domain shared by path
 * (shared-domains.ts). Pure: services whose values fail
 * validation, whose template throws, or whose TCP listen port is already taken are rejected
 * individually, every other service is still rendered. A `memo` (for one set of templates and
 * one `httpListen` and mode) skips work for services unchanged since the last call. With `dynamic`
 * `lua`, HTTP files come from `http-lua.conf.hbs` without endpoints (their header says servers=0),
 * so a scale change leaves them byte-identical; TCP files keep their endpoints.
 */
export function renderServices(
  services: readonly Service[],
  templates: Templates,
  httpListen: string,
  memo?: RenderMemo,
  dynamic: DynamicMode = 'off',
  tls?: TlsRenderInput,
): RenderResult {
  const sorted = memo ? memo.sorted(services) : inOrder(services);
  const r = renderer(sorted, templates, httpListen, memo, dynamic, tls);
  const changed = memo?.changes(sorted, r.tied);
  if (memo && changed) {
    for (const i of changed) memo.patchAt(i, sorted[i], r.step);
    return memo.assemble();
  }
  for (let i = 0; i < sorted.length; i++) r.step(sorted[i], i);
  return r.finish();
}

/**
 * `renderServices` in slices of a few milliseconds, letting timers, I/O (DNS) and events run in
 * between: a first render of 10,000 services takes seconds of CPU.
 */
export async function renderServicesAsync(
  services: readonly Service[],
  templates: Templates,
  httpListen: string,
  memo?: RenderMemo,
  dynamic: DynamicMode = 'off',
  tls?: TlsRenderInput,
): Promise<RenderResult> {
  let slice = performance.now();
  const sorted = memo ? memo.sorted(services) : inOrder(services);
  const r = renderer(sorted, templates, httpListen, memo, dynamic, tls);
  const changed = memo?.changes(sorted, r.tied);
  const pause = async () => {
    if (performance.now() - slice <= SLICE_MS) return;
    await loopTurn();
    slice = performance.now();
  };
  if (memo && changed) {
    for (const i of changed) {
      memo.patchAt(i, sorted[i], r.step);
      await pause();
    }
    return memo.assemble();
  }
  await pause(); // after a first sort of 10,000 services (tens of milliseconds)
  for (let i = 0; i < sorted.length; i++) {
    r.step(sorted[i], i);
    // Checked after every service: one takes a few hundred microseconds at a first run (16 of them overran a slice threefold).
    if (performance.now() - slice > SLICE_MS) await pause();
  }
  return r.finish();
}

/**
 * The shared domains' files of `services` again, leaving out the locations of every service whose
 * file is not in `written` (held back with no file on disk: its upstream is unknown to Nginx).
 * Member locations come from the memo as `renderServices` left them: no second template pass.
 */
export function renderSharedDomainsOnly(
  services: readonly Service[],
  templates: Templates,
  httpListen: string,
  written: ReadonlySet<string>,
  memo?: RenderMemo,
  dynamic: DynamicMode = 'off',
  tls?: TlsRenderInput,
): RenderedFile[] {
  const sorted = inOrder(services);
  const sharedKeys = sharedDomainKeys(sorted, (s) => serviceErrors(s).length === 0);
  if (sharedKeys.size === 0) return [];
  const members = sorted.filter((s) => onSharedDomain(s, sharedKeys) && written.has(servicePath(s, 'http')));
  const result: RenderResult = { files: [], rejected: [] };
  renderSharedDomains(members, sharedKeys, { templates, listen: httpListen.trim(), lua: dynamic === 'lua', tls, memo }, result.files, result.rejected);
  return result.files.filter((f) => isDomainGroupPath(f.path));
}

const inOrder = (services: readonly Service[]): Service[] => Array.from(sortOrder(services), (i) => services[i]);

/** An HTTP service with a valid domain list, at least one of them shared by path. */
function onSharedDomain(s: Service, sharedKeys: ReadonlySet<string>): boolean {
  return s.proxy === 'http' && Array.isArray(s.domains) && s.domains.some((d) => sharedKeys.has(groupKey(s.env, d)));
}

function renderer(
  sorted: readonly Service[],
  templates: Templates,
  httpListen: string,
  memo: RenderMemo | undefined,
  dynamic: DynamicMode,
  tls: TlsRenderInput | undefined,
) {
  const lua = dynamic === 'lua';
  if (lua && !templates.httpLua) throw new Error('BERTH_NGINX_DYNAMIC=lua needs the http-lua.conf.hbs template');
  const { host } = parseListen(httpListen);
  const listen = { http: httpListen.trim(), host };
  const result: RenderResult = { files: [], rejected: [] };
  const { files, rejected } = result;
  const paths = new Set<string>();
  const tcpPorts = new Map<string, string>();
  // Only path apps are checked here (a cheap field test for every other service).
  const sharedKeys = sharedDomainKeys(sorted, (s) => serviceErrors(s).length === 0);
  const sharedOf = (s: Service): ReadonlySet<string> =>
    sharedKeys.size === 0 || s.proxy !== 'http' || !Array.isArray(s.domains) ? NONE : new Set(s.domains.filter((d) => sharedKeys.has(groupKey(s.env, d))));
  // Rendered HTTP services on a shared domain: the members of the shared domains' files.
  const members: Service[] = [];
  // Made once per call, not per service: a closure per service per run was a measurable share of a run over 10,000 unchanged services.
  const renderWith = (s: Service, shared: ReadonlySet<string>): Computed => {
    const errs = serviceErrors(s);
    if (errs.length > 0) return { errs };
    try {
      const dyn = lua && s.proxy === 'http';
      const template = s.proxy === 'tcp' ? templates.stream : dyn ? templates.httpLua! : templates.http;
      return { errs, body: template(contextFor(s, listen, dyn, tls, shared)) };
    } catch (err) {
      return { errs, error: (err as Error).message };
    }
  };
  const render = (s: Service): Computed => renderWith(s, NONE);
  // Every path a position named (the memo's check that positions do not collide).
  const seen = new Set<string>();
  const step = (s: Service, i: number): { outcome: Outcome; kind: number } => {
    const { outcome, kind, path } = place(s, i);
    if (kind === FILE) {
      files.push(outcome as RenderedFile);
      if (sharedKeys.size > 0 && onSharedDomain(s, sharedKeys)) members.push(s);
    } else if (kind === REJECTED) rejected.push(outcome as RenderRejection);
    memo?.record(i, s, outcome, kind, path, seen);
    return { outcome, kind };
  };
  // The definition key of the service at hand, made once for its memo key and its file (a new
  // service needs both; at a first run that is 10,000 of them).
  let defFor: Service | null = null;
  let defKey = '';
  const defOf = (s: Service): string => {
    if (defFor !== s) {
      defKey = definitionKey(s);
      defFor = s;
    }
    return defKey;
  };
  // The whole value: the definition and the endpoints (a NUL never occurs in JSON text).
  const valueOf = (s: Service): string => `${defOf(s)}\u0000${JSON.stringify(s.endpoints)}`;
  const place = (s: Service, i: number): { outcome: Outcome; kind: number; path: string | null } => {
    if (s.proxy === 'none') return { outcome: undefined, kind: NOTHING, path: null };
    const dyn = lua && s.proxy === 'http';
    // A dynamic file is keyed by the definition only: a scale change finds the same entry, the same string.
    const keyOf = dyn ? defOf : valueOf;
    // A `/` app's file also depends on which of its domains other apps share by path (a path app's
    // every domain is shared, so its own value says it all).
    const shared = sharedOf(s);
    const sharedKey = s.paths === undefined && shared.size > 0 ? `${keyOf(s)}\u0000shared\u0000${[...shared].join(' ')}` : undefined;
    const compute = shared.size === 0 ? render : (x: Service) => renderWith(x, shared);
    const entry = memo ? memo.at(i, s, compute, keyOf, sharedKey) : { ...compute(s), key: '', used: 0 };
    const errs = entry.errs;
    if (errs.length > 0) {
      const named = isValidEnv(s.env) && isValidAppId(s.appId) && (s.port === undefined || isPortRef(s.port)) && (s.proxy === 'http' || s.proxy === 'tcp');
      const path = named ? servicePath(s, s.proxy === 'tcp' ? 'tcp' : 'http') : null;
      const outcome = { env: String(s.env), appId: String(s.appId), code: PROBLEM_CODES.NGINX_INVALID_SERVICE, message: errs.join('; '), path };
      return { outcome, kind: REJECTED, path };
    }
    const path = entry.file?.path ?? servicePath(s, s.proxy === 'tcp' ? 'tcp' : 'http');
    if (paths.has(path)) return { outcome: undefined, kind: NOTHING, path }; // the registry keeps one service per (env, app id, port); a duplicate is ignored
    if (s.proxy === 'tcp') {
      // One environment's `stream {}` cannot listen twice on a port (`nginx -t` would fail). Across
      // environments it depends on whether they share an Nginx; there `nginx -t` and the bisection decide.
      const portKey = `${s.env} ${s.listen}`;
      const owner = tcpPorts.get(portKey);
      if (owner) {
        const message = `listen port ${s.listen} is already used by ${owner} in ${s.env}`;
        return { outcome: { env: s.env, appId: s.appId, code: PROBLEM_CODES.NGINX_LISTEN_CONFLICT, message, path }, kind: REJECTED, path };
      }
      tcpPorts.set(portKey, serviceKey(s));
    }
    if (!entry.file && entry.body === undefined) {
      const message = `template failed: ${entry.error}`;
      return { outcome: { env: s.env, appId: s.appId, code: PROBLEM_CODES.NGINX_RENDER_FAILED, message, path }, kind: REJECTED, path };
    }
    paths.add(path);
    if (!entry.file) {
      const servers = dyn ? 0 : s.endpoints.length;
      // `serviceKey`: the app id, plus `#<port>` for a per-port service (a comment: `#` is inert there).
      const content = `# berth: ${serviceKey(s)} in ${s.env}, servers=${servers}; generated, do not edit\n${entry.body}`;
      entry.file = Object.freeze({ path, env: s.env, appId: s.appId, content, servers, definitionKey: defOf(s) });
      // The file holds the output from now on: kept twice, it was 15 MB more at 10,000 services and
      // more for the collector to copy (writing or hashing the file flattens the content into a copy).
      entry.body = undefined;
    }
    return { outcome: entry.file, kind: FILE, path };
  };
  /** The full run's result: the service files, then the shared domains' files. */
  const finish = (): RenderResult => {
    if (sharedKeys.size === 0) {
      memo?.recordGroup(null);
      return result;
    }
    const before = { files: files.length, rejected: rejected.length };
    const removed = renderSharedDomains(members, sharedKeys, { templates, listen: listen.http, lua, tls, memo }, files, rejected);
    memo?.recordGroup({ files: files.slice(before.files - removed.size), rejected: rejected.slice(before.rejected), removed });
    return result;
  };
  const tied = (s: Service): boolean => s.paths !== undefined || (sharedKeys.size > 0 && onSharedDomain(s, sharedKeys));
  return { step, finish, tied };
}

/**
 * Adds the file of every shared domain (shared-domains.ts) to `files`. Members are the services
 * rendered above; one that would repeat a location another member already has (two `/` apps, one
 * prefix twice: the registry's conflict rule keeps that from happening) is rejected, its own file
 * with it, so one bad member never breaks the domain's file. Returns the paths of the member files it took out.
 */
function renderSharedDomains(
  accepted: readonly Service[],
  sharedKeys: ReadonlySet<string>,
  opts: { templates: Templates; listen: string; lua: boolean; tls?: TlsRenderInput; memo?: RenderMemo },
  files: RenderedFile[],
  rejected: RenderRejection[],
): Set<string> {
  const removed = new Set<string>();
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
    if (i >= 0) {
      files.splice(i, 1);
      removed.add(path);
    }
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
      const compute = (): Computed => {
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
  return removed;
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
