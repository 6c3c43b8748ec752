/**
 * The render run: one file per service with proxy `http` or `tcp`, each validated, rendered
 * through the memo and checked against the run's other files (one file per path, one TCP listen
 * port per environment), then the shared domains' files. Plain or in slices for the sync; the
 * template variables, the memo and shared domains each live in a module of their own.
 */
import type { Service } from '../model/types';
import { PROBLEM_CODES } from '../model/problems';
import { servicePath } from './names';
import { serviceKey } from '../model/service-key';
import { isPortRef } from '../rules';
import { isValidAppId, isValidEnv, parseListen, serviceErrors } from './validate';
import { groupKey, sharedDomainKeys } from './shared-domains';
import { loopTurn, SLICE_MS } from '../slices';
import { contextFor, NO_SHARED, type DynamicMode, type TlsRenderInput } from './template-context';
import type { Templates } from './templates';
import { FILE, NOTHING, REJECTED, type Computed, type Outcome, type RenderMemo } from './render-memo';
import { definitionKey, type RenderedFile, type RenderRejection, type RenderResult } from './rendered-file';
import { inOrder } from './render-order';
import { onSharedDomain, renderSharedDomains } from './render-shared';

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
    sharedKeys.size === 0 || s.proxy !== 'http' || !Array.isArray(s.domains) ? NO_SHARED : new Set(s.domains.filter((d) => sharedKeys.has(groupKey(s.env, d))));
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
  const render = (s: Service): Computed => renderWith(s, NO_SHARED);
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
  // A dynamic file is keyed by the definition only: a scale change finds the same entry, the same string.
  const keyFor = (s: Service): ((s: Service) => string) => (lua && s.proxy === 'http' ? defOf : valueOf);
  const place = (s: Service, i: number): { outcome: Outcome; kind: number; path: string | null } => {
    if (s.proxy === 'none') return { outcome: undefined, kind: NOTHING, path: null };
    const dyn = lua && s.proxy === 'http';
    const keyOf = keyFor(s);
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
      entry.file = Object.freeze(fileOf(s, path, entry.body!, dyn));
      // The file holds the output from now on: kept twice, it was 15 MB more at 10,000 services and
      // more for the collector to copy (writing or hashing the file flattens the content into a copy).
      entry.body = undefined;
    }
    return { outcome: entry.file, kind: FILE, path };
  };
  const fileOf = (s: Service, path: string, body: string, dyn: boolean): RenderedFile => {
    const servers = dyn ? 0 : s.endpoints.length;
    // `serviceKey`: the app id, plus `#<port>` for a per-port service (a comment: `#` is inert there).
    const content = `# berth: ${serviceKey(s)} in ${s.env}, servers=${servers}; generated, do not edit\n${body}`;
    return { path, env: s.env, appId: s.appId, content, servers, definitionKey: defOf(s) };
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
  /**
   * What rendering `s` alone computes, with its memo key and, rendered, its file; null when its file
   * may depend on other services or certificates (see `renderAlone`).
   */
  const alone = (s: Service): Alone | null => {
    if (!rendersAlone(s)) return null;
    const c = render(s);
    const key = keyFor(s)(s);
    if (c.errs.length > 0 || c.body === undefined) return { key, ...c };
    return { key, errs: c.errs, file: fileOf(s, servicePath(s, s.proxy === 'tcp' ? 'tcp' : 'http'), c.body, lua && s.proxy === 'http') };
  };
  return { step, finish, tied, alone };
}

/** What `renderAlone` gives for one service: the memo entry's key and content. */
export type Alone = Computed & { key: string };

/** A service whose file depends on its own value only: not a path app, no TLS (the others' files depend on the run). */
const rendersAlone = (s: Service): boolean => s.proxy !== 'none' && s.paths === undefined && s.tls === undefined;

/**
 * What rendering each service on its own computes (null for a service whose file can depend on
 * other services or on certificates): the render a worker thread does ahead of a run
 * (render-ahead.ts). A `/` app is rendered as if no domain of it were shared by path; the run
 * looks such an app up with the shared domains it finds, so that text is used only when it finds none.
 */
export function renderAlone(services: readonly Service[], templates: Templates, httpListen: string, dynamic: DynamicMode): Array<Alone | null> {
  const r = renderer([], templates, httpListen, undefined, dynamic, undefined);
  return services.map(r.alone);
}

/**
 * Puts what `renderAlone` computed for `services` (in another thread: a copy) into `memo`, where
 * the next run finds it by the service object. Returns how many it took.
 */
export async function seedMemo(services: readonly Service[], computed: ReadonlyArray<Alone | null>, memo: RenderMemo): Promise<number> {
  let n = 0;
  // In slices, as the render itself: 10,000 services held the event loop for 40–70 ms in one piece.
  let slice = performance.now();
  for (let i = 0; i < services.length; i++) {
    if ((i & 63) === 63 && performance.now() - slice > SLICE_MS) {
      await loopTurn();
      slice = performance.now();
    }
    const c = computed[i];
    if (!c || !rendersAlone(services[i])) continue;
    const { key, ...entry } = c;
    if (entry.file) entry.file = Object.freeze(entry.file);
    memo.seed(services[i], key, entry);
    n++;
  }
  return n;
}
