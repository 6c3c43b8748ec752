/**
 * Conditional requests on single resources (RFC 9110 §13): the `ETag` of a pool or an allocation,
 * `If-None-Match` on reads (304 while unchanged) and `If-Match` on writes (412 when the client's
 * version is no longer the current one, so a decision made on a stale read is not applied).
 */
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { BerthError } from '../errors';

/** An allocation's representation is fixed by its allocation id (a new allocation gets a new id). */
export function allocationEtag(allocationId: number): string {
  return `"alloc-${allocationId}"`;
}

/** The allocation id an allocation ETag names, or null for any other tag. */
export function allocationIdOf(etag: string): number | null {
  const m = /^"alloc-(\d+)"$/.exec(etag);
  return m ? Number(m[1]) : null;
}

/** A strong tag over the JSON representation (a pool's changes with its usage, too). */
export function representationEtag(body: unknown): string {
  return `"${createHash('sha256').update(JSON.stringify(body)).digest('base64url').slice(0, 22)}"`;
}

/** The entity tags of an If-Match / If-None-Match header; `*` stays `*`. */
function tagsOf(header: string): string[] {
  return header
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
}

const opaque = (tag: string) => tag.replace(/^W\//, '');

/**
 * Sets the ETag and answers 304 when `If-None-Match` names it (weak comparison, as the RFC asks
 * for GET). Returns true when the 304 was sent.
 */
export function notModified(request: FastifyRequest, reply: FastifyReply, etag: string): boolean {
  void reply.header('etag', etag);
  const header = request.headers['if-none-match'];
  if (header === undefined) return false;
  const tags = tagsOf(header);
  if (!tags.includes('*') && !tags.some((t) => opaque(t) === etag)) return false;
  void reply.code(304).send();
  return true;
}

/** The If-Match header of a write, or undefined when the client sent none. */
export function ifMatch(request: FastifyRequest): string[] | undefined {
  const header = request.headers['if-match'];
  return header === undefined ? undefined : tagsOf(header);
}

/**
 * Throws PRECONDITION_FAILED unless `If-Match` (when sent) names `current` (strong comparison) or
 * is `*` with a current representation. `current` null: the resource does not exist.
 */
export function checkIfMatch(request: FastifyRequest, current: string | null): void {
  const tags = ifMatch(request);
  if (tags === undefined) return;
  if (current !== null && (tags.includes('*') || tags.includes(current))) return;
  throw new BerthError(
    'PRECONDITION_FAILED',
    current === null ? 'If-Match: the resource does not exist (any more)' : 'If-Match: the resource changed since it was read; read it again',
    { ifMatch: tags.slice(0, 8), current },
  );
}
