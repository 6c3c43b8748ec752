/**
 * What keeps a web browser from using berth's tokenless trust (issue 16). Without a token, berth
 * trusts loopback for writes and everyone for reads; a browser on the same machine or network can
 * be made to send such requests by any page it visits:
 * - cross-site requests (a form or `fetch(…, {mode: 'no-cors'})` POST to http://127.0.0.1:8080)
 *   carry an `Origin` header, or at least `Sec-Fetch-Site: cross-site|same-site`: refused unless the
 *   origin is listed in BERTH_API_ALLOWED_ORIGINS. Berth's own pages (the dashboard) are not
 *   refused: browsers send `Origin` on same-origin module scripts and writes too, so an Origin whose
 *   host[:port] is the request's own `Host` (with `Sec-Fetch-Site`, when sent, `same-origin` or
 *   `none`) is this berth's origin; the Host check below still refuses a rebound name;
 * - DNS rebinding (the page's own name re-pointed at 127.0.0.1, making the requests same-origin and
 *   the answers readable) keeps the attacker's name in `Host`: only IP literals, `localhost`, this
 *   machine's name and the names in BERTH_API_ALLOWED_HOSTS are accepted. An IP literal cannot be
 *   rebound, so ports are not compared (Docker port mapping and proxies change them).
 * Probes (`/healthz`, `/readyz`, `/metrics`) are exempt: health checkers address berth by any
 * name, and a failed probe restarts it.
 */
import net from 'node:net';
import os from 'node:os';
import type { FastifyRequest } from 'fastify';
import { BerthError } from '../errors';

export interface BrowserGuardOptions {
  /** Origins (`scheme://host[:port]`) allowed to call without a token. */
  allowedOrigins?: readonly string[];
  /** Host names accepted in `Host` without a token, besides IP literals, localhost and `hostname`. */
  allowedHosts?: readonly string[];
  /** This machine's name (default `os.hostname()`). */
  hostname?: string;
}

const PROBES = new Set(['/healthz', '/readyz', '/metrics']);
const PROBE_METHODS = new Set(['GET', 'HEAD']);
// `name[:port]` or `[v6][:port]`; anything else (userinfo, paths, spaces) is not a Host value.
const HOST_HEADER = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]/@\\]+))(?::\d{1,5})?$/;

/** The host part of a `Host` header, lowercase; null when it is not a well-formed host[:port]. */
export function hostOf(header: string): string | null {
  const m = HOST_HEADER.exec(header);
  if (!m) return null;
  if (m[1] !== undefined) return net.isIPv6(m[1]) ? m[1].toLowerCase() : null;
  return m[2].toLowerCase();
}

const clip = (s: string) => s.slice(0, 100);

const SAME_ORIGIN_SITES = new Set([undefined, 'same-origin', 'none']);

/**
 * True when `Origin` is berth's own origin as the browser addressed it: `http(s)://` plus exactly the
 * `Host` header. The scheme is not compared: behind a TLS-terminating proxy the page is https while
 * berth sees http, and a scheme alone does not make another site.
 */
function isOwnOrigin(origin: string, host: string | undefined, site: string | string[] | undefined): boolean {
  if (host === undefined || host === '' || Array.isArray(site) || !SAME_ORIGIN_SITES.has(site)) return false;
  const m = /^https?:\/\/(.+)$/i.exec(origin);
  return m !== null && m[1].toLowerCase() === host.toLowerCase();
}

/** Returns a check that throws ORIGIN_NOT_ALLOWED or HOST_NOT_ALLOWED; call it for requests without a valid token. */
export function makeBrowserGuard(opts: BrowserGuardOptions = {}): (request: FastifyRequest) => void {
  const origins = new Set((opts.allowedOrigins ?? []).map((o) => o.toLowerCase()));
  const names = new Set(['localhost', (opts.hostname ?? os.hostname()).toLowerCase(), ...(opts.allowedHosts ?? []).map((h) => h.toLowerCase())]);
  return (request) => {
    if (PROBE_METHODS.has(request.method) && PROBES.has(request.url.split('?')[0])) return;
    const origin = request.headers.origin;
    if (origin !== undefined) {
      if (!origins.has(origin.toLowerCase()) && !isOwnOrigin(origin, request.headers.host, request.headers['sec-fetch-site'])) {
        throw new BerthError(
          'ORIGIN_NOT_ALLOWED',
          `requests from web pages are refused without a token (Origin ${JSON.stringify(clip(origin))}); list the origin in BERTH_API_ALLOWED_ORIGINS, or send a token`,
          { origin: clip(origin) },
        );
      }
    } else {
      const site = request.headers['sec-fetch-site'];
      if (site === 'cross-site' || site === 'same-site') {
        throw new BerthError('ORIGIN_NOT_ALLOWED', `requests from web pages on other sites are refused without a token (Sec-Fetch-Site: ${site})`, {
          secFetchSite: site,
        });
      }
    }
    // No Host at all is not a browser (every browser sends one).
    const header = request.headers.host;
    if (header === undefined || header === '') return;
    const host = hostOf(header);
    if (host === null || !(net.isIP(host) || names.has(host))) {
      throw new BerthError(
        'HOST_NOT_ALLOWED',
        `Host ${JSON.stringify(clip(header))} is not an IP address, localhost or a name configured for this berth (a DNS rebinding attempt?); use an IP address, list the name in BERTH_API_ALLOWED_HOSTS, or send a token`,
        { host: clip(header) },
      );
    }
  };
}
