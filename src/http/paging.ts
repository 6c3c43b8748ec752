/**
 * Keyset paging for every list endpoint. A page ends with the sort key of its last item; the next
 * page starts strictly after that key. Since every list is sorted on a unique key, an item that
 * exists for the whole walk is returned exactly once however many items are added or removed
 * meanwhile (offsets would skip or repeat one per removal or insertion before the cursor).
 *
 * The cursor is opaque to clients: base64url of the key and of a digest of the filters it was made
 * under, so a cursor reused with other filters (or on another list) is refused instead of silently
 * starting in the wrong place. The next page is announced as an RFC 8288 `Link: <…>; rel="next"`
 * header and as the `next` field of the body (the same relative URL; null on the last page).
 */
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { BerthError } from '../errors';

/** A sort key: the values of the unique sort columns of the last item of a page. */
export type PageKey = ReadonlyArray<string | number>;

/**
 * Page size of the lists whose `limit` has no default (services, problems): the whole list, read
 * from one registry view, as before paging existed (`berth render` needs every service at once).
 */
export const UNLIMITED = Number.MAX_SAFE_INTEGER;

/** `limit` and `cursor` query properties for a list with the given default and maximum page size. */
export function pagingQuery(defaultLimit: number | null, maxLimit: number) {
  return {
    limit: {
      type: 'integer',
      minimum: 1,
      maximum: maxLimit,
      ...(defaultLimit === null ? {} : { default: defaultLimit }),
      description:
        defaultLimit === null
          ? `items per page, at most ${maxLimit}; without it (and without cursor) the whole list`
          : `items per page (default ${defaultLimit}, at most ${maxLimit})`,
    },
    cursor: { type: 'string', minLength: 1, maxLength: 2048, description: 'opaque: the cursor of the `next` link of the previous page' },
  } as const;
}

/** The `next` field of a paged list body. */
export const nextField = {
  type: ['string', 'null'],
  description: 'relative URL of the next page (same as the Link rel="next" header); null on the last page',
} as const;

/** The Link header of a paged list answer. */
export const linkHeader = { Link: { type: 'string', description: 'RFC 8288 `<url>; rel="next"` while there is a next page' } } as const;

/** Query parameters that choose the page rather than the list. */
const PAGE_PARAMS = new Set(['cursor', 'limit', 'offset', 'before']);

/** Digest of the path and of the filters of the request (what a cursor is valid for). */
function scopeOf(request: FastifyRequest): string {
  const url = new URL(request.url, 'http://x');
  const filters = [...url.searchParams].filter(([k]) => !PAGE_PARAMS.has(k)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256')
    .update(JSON.stringify([url.pathname, filters]))
    .digest('base64url')
    .slice(0, 12);
}

const badCursor = (why: string) => new BerthError('BAD_REQUEST', `invalid cursor: ${why}; start again without cursor`, { param: 'cursor' });

/**
 * The key a `cursor` stands for (undefined without one). `shape` lists the type of each key part;
 * a cursor that is not one of ours, or was made under other filters, is a 400.
 */
export function readCursor(request: FastifyRequest, cursor: string | undefined, shape: ReadonlyArray<'string' | 'number'>): PageKey | undefined {
  if (cursor === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badCursor('not a cursor of this API');
  }
  if (!Array.isArray(parsed) || parsed.length !== 2 || !Array.isArray(parsed[1])) throw badCursor('not a cursor of this API');
  const [scope, key] = parsed as [unknown, unknown[]];
  if (scope !== scopeOf(request)) throw badCursor('made for another list or other filters');
  if (key.length !== shape.length || key.some((v, i) => typeof v !== shape[i])) throw badCursor('not a cursor of this list');
  return key as PageKey;
}

/** Lexicographic comparison of keys, codepoint order for strings (the lists' own sort). */
export function compareKeys(a: PageKey, b: PageKey): number {
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return 0;
}

/** One page of an in-memory list already sorted by `keyOf` ascending. */
export function pageOfSorted<T>(sorted: readonly T[], keyOf: (item: T) => PageKey, after: PageKey | undefined, limit: number): T[] {
  let start = 0;
  if (after !== undefined) {
    // Binary search for the first item strictly after the key.
    let hi = sorted.length;
    while (start < hi) {
      const mid = (start + hi) >>> 1;
      if (compareKeys(keyOf(sorted[mid]), after) <= 0) start = mid + 1;
      else hi = mid;
    }
  }
  return sorted.slice(start, start + limit + 1);
}

/**
 * Trims `fetched` (up to limit + 1 items, the extra one only telling that more exist) to `limit`,
 * sets the Link header when there is a next page, and returns the page with its `next` URL.
 */
export function finishPage<T>(
  request: FastifyRequest,
  reply: FastifyReply,
  fetched: readonly T[],
  limit: number,
  keyOf: (item: T) => PageKey,
): { items: T[]; next: string | null } {
  if (fetched.length <= limit) return { items: [...fetched], next: null };
  const items = fetched.slice(0, limit);
  const url = new URL(request.url, 'http://x');
  // The next page is addressed by cursor only: an offset or `before` of the first request is spent.
  for (const p of ['offset', 'before']) url.searchParams.delete(p);
  url.searchParams.set('limit', String(limit));
  url.searchParams.set('cursor', Buffer.from(JSON.stringify([scopeOf(request), keyOf(items[items.length - 1])])).toString('base64url'));
  const next = `${url.pathname}?${url.searchParams}`;
  void reply.header('link', `<${next}>; rel="next"`);
  return { items, next };
}
