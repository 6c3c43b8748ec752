/**
 * Request bodies: JSON only, nested at most MAX_DEPTH levels, and kept with the types the client
 * sent. Found by the fault suite (test/faults/api-bodies.test.ts):
 * - a definition nested 100,000 levels deep passes `POST /v1/apps/prepare` (it keeps unknown fields)
 *   and overflows the stack when the reply is serialised: a 500 instead of a 400;
 * - Ajv's type coercion, wanted for query strings and path parameters (text by nature), also
 *   applied to JSON bodies: `{"appId": ["/a"]}` allocated for `/a`, `{"name": ["p"]}` created pool p.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BerthError } from '../errors';

/** Marathon app definitions nest about 6 levels; anything near this is not a real request. */
export const MAX_DEPTH = 64;

/** Deepest `{`/`[` nesting outside strings; stops counting once past `limit`. One pass, no allocation. */
export function nestingDepth(text: string, limit = MAX_DEPTH): number {
  let depth = 0,
    max = 0,
    inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max && (max = depth) > limit) return max;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/** Syntactically valid JSON (the default parser refused it for another reason: prototype poisoning). */
function parsesAsJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

const TYPE_OF = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/** Path (`/a/0/b`) of the first value whose type changed between `sent` and `validated`, or null. Keys only in `validated` are defaults. */
export function firstCoerced(sent: unknown, validated: unknown, at = ''): { path: string; sent: string; wanted: string } | null {
  const a = TYPE_OF(sent),
    b = TYPE_OF(validated);
  if (a !== b) return { path: at, sent: a, wanted: b };
  if (a === 'array') {
    const s = sent as unknown[],
      v = validated as unknown[];
    for (let i = 0; i < s.length; i++) {
      const r = firstCoerced(s[i], v[i], `${at}/${i}`);
      if (r) return r;
    }
  } else if (a === 'object') {
    const s = sent as Record<string, unknown>,
      v = validated as Record<string, unknown>;
    for (const k of Object.keys(s)) {
      const r = firstCoerced(s[k], v[k], `${at}/${k}`);
      if (r) return r;
    }
  }
  return null;
}

const SENT = Symbol('berth.sentBody');
type WithSent = FastifyRequest & { [SENT]?: unknown };

/** Installs the JSON parser with the depth limit and the no-coercion check for bodies. */
export function registerJsonBodies(app: FastifyInstance, bodyLimit: number): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  // A request without a body has nothing to parse, whatever Content-Type a client library adds
  // (DELETE with `Content-Type: application/json` and no body answered 400, or 415 for other types).
  app.addHook('onRequest', async (request) => {
    // Without Content-Length and Transfer-Encoding an HTTP/1.1 request has no body at all (RFC 9112 §6.3).
    const length = request.headers['content-length'];
    if ((length === undefined || length === '0') && request.headers['transfer-encoding'] === undefined) delete request.headers['content-type'];
  });
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (request, body, done) => {
    const text = body as string; // parseAs: 'string'
    if (text === '') {
      done(null, undefined); // chunked with no data: no body, as above
      return;
    }
    if (nestingDepth(text) > MAX_DEPTH) {
      done(new BerthError('BAD_REQUEST', `request body is nested deeper than ${MAX_DEPTH} levels`, { maxDepth: MAX_DEPTH }), undefined);
      return;
    }
    parse(request, text, (err, value) => {
      // The default parser says "not valid JSON" for prototype poisoning too: say what it is.
      if (err && text.length > 0 && parsesAsJson(text))
        done(new BerthError('BAD_REQUEST', 'request body must not contain "__proto__" or "constructor.prototype" keys'), undefined);
      else done(err, value);
    });
  });
  // Keep a copy of the body as sent (route hooks such as "no body means {}" run after this one).
  app.addHook('preValidation', async (request: WithSent) => {
    if (request.body !== undefined) request[SENT] = structuredClone(request.body);
  });
  app.addHook('preHandler', async (request: WithSent) => {
    if (!(SENT in request)) return;
    const c = firstCoerced(request[SENT], request.body);
    if (c) {
      const instancePath = c.path;
      throw new BerthError('BAD_REQUEST', `invalid body: body${instancePath} must be ${c.wanted}, not ${c.sent}`, {
        validation: [{ instancePath, keyword: 'type', params: { type: c.wanted } }],
      });
    }
  });
}
