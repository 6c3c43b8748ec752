/**
 * The `fetch` handed to eventsource@4: adds credentials, follows redirects itself (a 1.7+
 * standby answers `/v2/events` with 302 to the leader, and fetch would drop `Authorization`
 * when the port changes), and taps the body so every byte, including the bare-CRLF keepalive
 * that an SSE parser swallows, resets the idle watchdog; and stops the body as soon as one event
 * is larger than `maxEventBytes`, before the parser has buffered more than that.
 */
import type { FetchLike, FetchLikeResponse } from 'eventsource';
import { mayCarryAuth } from './auth';
import { EventSizeGuard } from './event-size';

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export interface TapFetchOptions {
  auth?: string;
  bases: string[];
  maxRedirects?: number;
  /** Called for every chunk of the body, with its size. */
  onBytes: (n: number) => void;
  /** Called with the URL that finally answered (after redirects). */
  onResponse: (url: string, status: number) => void;
  /** Largest event (all its lines) passed on to the parser. */
  maxEventBytes: number;
  /** Called once when an event crossed `maxEventBytes`; the body ends right after the events before it. */
  onOversize: () => void;
}

/** Builds the fetch for one connection attempt. */
export function tapFetch(o: TapFetchOptions): FetchLike {
  return async (input, init): Promise<FetchLikeResponse> => {
    let target = new URL(input.toString());
    let from = target;
    for (let hop = 0; hop <= (o.maxRedirects ?? 3); hop++) {
      const headers: Record<string, string> = { ...init.headers };
      if (o.auth && (hop === 0 || mayCarryAuth(target, from, o.bases))) headers.Authorization = o.auth;
      const res = await fetch(target, { method: 'GET', headers, signal: init.signal, redirect: 'manual' });
      const location = res.headers.get('location');
      if (REDIRECTS.has(res.status) && location) {
        await res.body?.cancel().catch(() => undefined);
        from = target;
        target = new URL(location, target);
        continue;
      }
      o.onResponse(target.href, res.status);
      const guard = new EventSizeGuard(o.maxEventBytes);
      const body = res.body?.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, ctl) {
            o.onBytes(chunk.byteLength);
            const complete = guard.feed(chunk);
            if (complete < 0) return ctl.enqueue(chunk);
            // The events before the oversized one are still delivered; then the body ends (which
            // cancels the response), so the parser never holds more than the limit.
            if (complete > 0) ctl.enqueue(chunk.subarray(0, complete));
            o.onOversize();
            ctl.terminate();
          },
        }),
      );
      return { status: res.status, url: target.href, redirected: hop > 0, headers: res.headers, body: body ?? null };
    }
    throw new Error(`more than ${o.maxRedirects ?? 3} redirects from ${input.toString()}`);
  };
}
