/**
 * Domains shared by path prefix (`berth.path`, docs/nginx.md "Path prefixes"). Nginx takes one
 * `server` per (listen, server_name), so a domain that any app serves by prefix gets a file of its
 * own, `<env>/http/_6<domain>.conf`, holding that domain's servers (HTTP, and HTTPS when a member has
 * TLS and a certificate covers the name) with every member's locations. Each member's upstream stays
 * in its own file, and the `/` app leaves the shared name out of its own `server_name`.
 */
import type { Service } from '../model/types';
import { domainGroupPath } from './names';
import type { TlsServer } from './tls-catalog';

/** One location of a member on a shared domain, as the template's `routes` branch sees it. */
export interface Route {
  /** `/` (the `/` app), `= /api` (the prefix itself) or `/api/` (below it): Nginx prefix matches, the longest wins. */
  match: string;
  /** Appended to `proxy_pass http://<upstream>`: `/` replaces the matched prefix (`berth.path.strip`), empty passes the path unchanged. */
  pass: string;
  /** Plain HTTP answers 308 to HTTPS (the member's `berth.tls=redirect`, the domain has HTTPS). */
  redirect: boolean;
  /**
   * The location is in the domain's HTTPS server: a `berth.sticky=cookie` cookie set there is `Secure`.
   * Members' sticky cookies are set per location (a server holds several apps, each with its own cookie).
   */
  https: boolean;
  /** `berth.tls.hsts` on the member's HTTPS locations. */
  hsts: number | null;
}

/** `env\0domain` of every domain an HTTP service with `berth.path` is on (`accept`: the service may be rendered). */
export function sharedDomainKeys(services: readonly Service[], accept: (s: Service) => boolean): Set<string> {
  const out = new Set<string>();
  for (const s of services) if (s.proxy === 'http' && s.paths !== undefined && accept(s)) for (const d of s.domains) out.add(groupKey(s.env, d));
  return out;
}

export const groupKey = (env: string, domain: string): string => `${env}\u0000${domain}`;

/** What a member's locations match: `/` for the domain's `/` app, both forms of each prefix otherwise. */
export function matchesOf(s: Service): Array<{ match: string; pass: string }> {
  if (s.paths === undefined) return [{ match: '/', pass: '' }];
  const pass = s.pathStrip ? '/' : '';
  // `= /api` and `/api/`: the prefix at a segment boundary only (`/apiary` is not under `/api`), and
  // with strip `/api` → `/`, `/api/users?x=1` → `/users?x=1` (Nginx replaces the matched part, keeps the query).
  return s.paths.flatMap((p) => [
    { match: `= ${p}`, pass },
    { match: `${p}/`, pass },
  ]);
}

export interface GroupInput {
  env: string;
  domain: string;
  /** Members in render order (environment, then app id); at most one without `paths`. */
  members: readonly Service[];
  listen: string;
  /** The HTTPS server for the domain, or null (plain HTTP only). */
  https: (TlsServer & { listen: string }) | null;
  /** A member's locations from its template (`routesOnly`). */
  snippet: (s: Service, routes: Route[]) => string;
  /** Definition keys of the members (for retrying a quarantined file when one changes). */
  definitionKey: (s: Service) => string;
}

export interface GroupFile {
  path: string;
  content: string;
  definitionKey: string;
}

/** The shared domain's file: one HTTP server (and one HTTPS server) with every member's locations. */
export function renderGroup(g: GroupInput): GroupFile {
  const hasRoot = g.members.some((m) => m.paths === undefined);
  const serverBody = (https: boolean): string => {
    let body = '';
    for (const m of g.members) {
      const routes = matchesOf(m).map((r) => ({
        ...r,
        redirect: !https && m.tls === 'redirect' && g.https !== null,
        https,
        hsts: https ? (m.hsts ?? null) : null,
      }));
      body += `    # ${m.appId}${m.port !== undefined ? `#${m.port}` : ''}\n${g.snippet(m, routes)}`;
    }
    // No `/` app: a path no member serves is not found here (never another site's answer).
    if (!hasRoot) body += `    # No app serves / on this domain.\n    location / {\n        return 404;\n    }\n`;
    return body;
  };
  const who = g.members.map((m) => m.appId + (m.port !== undefined ? `#${m.port}` : '')).join(', ');
  let content = `# berth: ${g.domain} in ${g.env}, servers=0; generated, do not edit\n# Shared by path prefix: ${who}\n`;
  content += `server {\n    listen ${g.listen};\n    server_name ${g.domain};\n\n${serverBody(false)}}\n`;
  if (g.https) {
    const t = g.https;
    content += `\n# cert sha256=${t.fingerprint}\nserver {\n    listen ${t.listen} ssl http2;\n    server_name ${g.domain};\n    ssl_certificate ${t.cert};\n    ssl_certificate_key ${t.key};\n\n${serverBody(true)}}\n`;
  }
  const definitionKey = JSON.stringify([g.listen, g.https, g.members.map((m) => [g.definitionKey(m), m.endpoints.length > 0])]);
  return { path: domainGroupPath(g.env, g.domain), content, definitionKey };
}
