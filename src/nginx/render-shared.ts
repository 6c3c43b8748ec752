/**
 * Rendering for domains shared by path (`berth.path`, docs/nginx.md "Path prefixes"): which
 * members a domain's file takes, each member's locations through the templates and the memo, and
 * the domain's HTTPS server. Separate from the per-service loop (render.ts), which calls it once
 * per full run after every service file is made; shared-domains.ts assembles the file itself.
 */
import type { Service } from '../model/types';
import { PROBLEM_CODES } from '../model/problems';
import { isDomainGroupPath, servicePath } from './names';
import { serviceKey } from '../model/service-key';
import { serviceErrors } from './validate';
import { tlsPlanKey, type TlsServer } from './tls-catalog';
import { groupKey, matchesOf, renderGroup, sharedDomainKeys, type Route } from './shared-domains';
import { contextFor, httpsPortSuffix, NO_SHARED, type DynamicMode, type TlsRenderInput } from './template-context';
import type { Templates } from './templates';
import type { Computed, RenderMemo } from './render-memo';
import { definitionKey, type RenderedFile, type RenderRejection, type RenderResult } from './rendered-file';
import { inOrder } from './render-order';

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

/** An HTTP service with a valid domain list, at least one of them shared by path. */
export function onSharedDomain(s: Service, sharedKeys: ReadonlySet<string>): boolean {
  return s.proxy === 'http' && Array.isArray(s.domains) && s.domains.some((d) => sharedKeys.has(groupKey(s.env, d)));
}

/**
 * Adds the file of every shared domain (shared-domains.ts) to `files`. Members are the services
 * the run rendered (render.ts); one that would repeat a location another member already has (two `/` apps, one
 * prefix twice: the registry's conflict rule keeps that from happening) is rejected, its own file
 * with it, so one bad member never breaks the domain's file. Returns the paths of the member files it took out.
 */
export function renderSharedDomains(
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
          const ctx = contextFor(m, { http: opts.listen, host: null }, opts.lua, opts.tls, NO_SHARED, routes);
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
