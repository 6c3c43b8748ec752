import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { BerthError } from '../errors';

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

/**
 * Write authorisation (DESIGN §6): with tokens configured every write needs a matching bearer
 * token (compared in constant time over fixed-length digests); without tokens, writes are
 * accepted from loopback only, so an unconfigured daemon is never an open IPAM on the network.
 */
export function makeWriteGuard(tokens: readonly string[]) {
  const digests = tokens.map(digest);
  return (request: FastifyRequest): void => {
    if (READ_METHODS.has(request.method)) return;
    if (digests.length === 0) {
      if (!isLoopback(request.socket.remoteAddress)) {
        throw new BerthError('FORBIDDEN', 'writes are accepted from loopback only when BERTH_API_TOKENS is not set');
      }
      return;
    }
    const header = request.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    const given = digest(m ? m[1] : '');
    // Compare against every token so timing does not reveal which one (or whether any) matched.
    let ok = false;
    for (const d of digests) ok = timingSafeEqual(d, given) || ok;
    if (!m || !ok) throw new BerthError('UNAUTHORIZED', 'a valid "Authorization: Bearer <token>" header is required for writes');
  };
}
