import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { BerthError } from '../errors';
import { makeBrowserGuard, type BrowserGuardOptions } from './browser-guard';

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** True for 127.0.0.0/8, ::1 and IPv4-mapped loopback. */
export function isLoopback(addr: string | undefined): boolean {
  if (!addr) return false;
  const a = addr.startsWith('::ffff:') ? addr.slice(7) : addr;
  return a === '::1' || /^127\.\d+\.\d+\.\d+$/.test(a);
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

export interface AccessOptions extends BrowserGuardOptions {
  /** BERTH_API_TOKENS. */
  tokens: readonly string[];
}

/**
 * Authorisation of every request (README.md "HTTP API"; issue 16):
 * - a valid bearer token (compared in constant time over fixed-length digests) allows everything;
 * - with tokens configured every write needs one (401); without tokens, writes are accepted from
 *   loopback only (403), so an unconfigured daemon is never an open IPAM on the network;
 * - every request without a valid token must not come from a browser page of another site nor name
 *   a foreign host (403 ORIGIN_NOT_ALLOWED / HOST_NOT_ALLOWED, see browser-guard.ts): loopback
 *   trust is for local tools, not for whatever page a local browser visits.
 */
export function makeAccessGuard(opts: AccessOptions) {
  const digests = opts.tokens.map(digest);
  const browser = makeBrowserGuard(opts);
  const tokenValid = (request: FastifyRequest): boolean => {
    if (digests.length === 0) return false;
    const m = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
    const given = digest(m ? m[1] : '');
    // Compare against every token so timing does not reveal which one (or whether any) matched.
    let ok = false;
    for (const d of digests) ok = timingSafeEqual(d, given) || ok;
    return m !== null && ok;
  };
  return (request: FastifyRequest): void => {
    if (tokenValid(request)) return;
    if (!READ_METHODS.has(request.method)) {
      if (digests.length > 0) throw new BerthError('UNAUTHORIZED', 'a valid "Authorization: Bearer <token>" header is required for writes');
      if (!isLoopback(request.socket.remoteAddress)) {
        throw new BerthError('FORBIDDEN', 'writes are accepted from loopback only when BERTH_API_TOKENS is not set');
      }
    }
    browser(request);
  };
}
