/**
 * Reading Marathon answers under a byte limit. Reading stops as soon as the limit is crossed
 * (the connection is dropped, nothing past it is kept) and the failure is a `too_large`
 * MarathonError whose message starts with MARATHON_ANSWER_TOO_LARGE.
 */
import { Slices } from '../slices';
import { AppsCutter } from './apps-stream';
import { MarathonError, TOO_LARGE_CODES } from './errors';
import { type LabelFilter, projectApp } from './project';
import { checkApp, checkAppsEnvelope, parseJson } from './shape';
import type { App } from './types';

/** One app is held whole while it is parsed; larger than this (32 MiB, ~30,000 tasks) is refused. */
export const MAX_APP_BYTES = 32 * 1024 * 1024;
/** What may sit outside the apps list (Marathon writes only `{"apps":[` and `]}` there). */
const MAX_SKELETON_BYTES = 8 * 1024 * 1024;

export function answerTooLarge(url: string, limit: number, what = 'the answer'): MarathonError {
  return new MarathonError(
    'too_large',
    `${TOO_LARGE_CODES.answer}: ${what} is larger than ${limit} bytes (BERTH_MARATHON_MAX_RESPONSE_BYTES); stopped reading`,
    url,
    200,
  );
}

/** Counts bytes and throws once more than `limit` came. */
async function* bounded(body: AsyncIterable<Buffer>, limit: number, url: string): AsyncGenerator<Buffer> {
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (total > limit) throw answerTooLarge(url, limit);
    yield chunk;
  }
}

/** The whole body as text (for small answers: one app, an error page). */
export async function readText(body: AsyncIterable<Buffer>, limit: number, url: string): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of bounded(body, limit, url)) parts.push(chunk);
  return Buffer.concat(parts).toString('utf8');
}

export interface ReadAppsOptions {
  url: string;
  limit: number;
  keepLabel?: LabelFilter;
}

/** `{"apps":[…]}` read as a stream: each app is parsed, checked and projected alone. */
export async function readApps(body: AsyncIterable<Buffer>, o: ReadAppsOptions): Promise<App[]> {
  let apps: App[] = [];
  const cutter = new AppsCutter({
    url: o.url,
    maxElementBytes: Math.min(o.limit, MAX_APP_BYTES),
    maxSkeletonBytes: MAX_SKELETON_BYTES,
    onArrayStart: () => {
      apps = [];
    },
    onElement: (text, i) => {
      const where = `apps[${i}]`;
      apps.push(projectApp(checkApp(parseJson(text, o.url, where), where, o.url), o.keepLabel));
    },
  });
  // Chunks already buffered arrive through a chain of microtasks, which never lets the event loop
  // run: at 10,000 apps that held it for up to 100 ms at a time. Each chunk is a few apps.
  const slices = new Slices();
  for await (const chunk of bounded(body, o.limit, o.url)) {
    cutter.push(chunk);
    const turn = slices.turnIfDue();
    if (turn) await turn;
  }
  const cut = checkAppsEnvelope(cutter.end(), o.url);
  // Every element of the list the skeleton ends with must have been cut out (and nothing else).
  if (cut.length !== apps.length || cut.some((x) => x !== 0)) {
    throw new MarathonError('bad_response', 'expected {"apps":[…]}: the apps list could not be read element by element', o.url, 200);
  }
  return apps;
}

/** At most the first `n` bytes of a body as text (for error messages); the rest is never read. */
export async function readHead(body: AsyncIterable<Buffer>, n: number): Promise<string> {
  const parts: Buffer[] = [];
  let got = 0;
  for await (const chunk of body) {
    parts.push(chunk);
    got += chunk.length;
    if (got >= n) break;
  }
  return Buffer.concat(parts).subarray(0, n).toString('utf8');
}
