/**
 * Every way a Marathon call can go wrong, as one typed error. Callers branch on `kind`; nothing
 * here is ever turned into an empty (valid-looking) answer.
 */

export type MarathonErrorKind =
  /** No answer within the deadline (includes a server that accepts and never answers). */
  | 'timeout'
  /** Connection refused/reset/DNS failure. */
  | 'connect'
  /** 401/403: wrong or missing credentials. */
  | 'unauthorized'
  /** 404 (unknown app, or a path that is not Marathon). */
  | 'not_found'
  /** 5xx, including Jetty's "Could not determine the current leader". */
  | 'server_error'
  /** Any other unexpected status (3xx left over, 4xx). */
  | 'http_status'
  /** 200 but not what Marathon sends: HTML, garbage, truncated or wrong-shaped JSON. */
  | 'bad_response'
  /** The answer crossed BERTH_MARATHON_MAX_RESPONSE_BYTES (or one app the per-app bound); reading stopped there. */
  | 'too_large';

/**
 * Stable codes an operator greps for: the message of an over-limit failure starts with one, and
 * the sync status (`lastError`) and the log carry that message.
 */
export const TOO_LARGE_CODES = {
  answer: 'MARATHON_ANSWER_TOO_LARGE',
  event: 'MARATHON_EVENT_TOO_LARGE',
} as const;

/**
 * Kinds worth retrying on another Marathon node. `too_large` is not: every node serves the same
 * state, so the next one would only cost another full read up to the limit.
 */
export const ROTATABLE: ReadonlySet<MarathonErrorKind> = new Set<MarathonErrorKind>(['timeout', 'connect', 'server_error', 'bad_response']);

export class MarathonError extends Error {
  constructor(
    readonly kind: MarathonErrorKind,
    message: string,
    readonly url: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'MarathonError';
  }
}

export function isMarathonError(e: unknown): e is MarathonError {
  return e instanceof MarathonError;
}

/** Shortens a body for an error message (first line of an HTML page, truncated). */
export function snippet(body: string, max = 120): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
