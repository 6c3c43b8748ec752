/**
 * Rendering a large registry write's services in a worker thread while the database commits it.
 *
 * At a start over an empty database (or after a long Marathon outage) the registry writes
 * thousands of services; the database works for about half a second and the main thread mostly
 * waits, then the DNS index is built and only then does the Nginx run render, on the same thread. A worker renders the same
 * services meanwhile on the other core, and the run finds them in its memo. Only what a service's
 * own value decides is rendered there (`renderAlone`); the run still decides what depends on the
 * whole list (one file per path, TCP ports, domains shared by path, certificates), and it runs only
 * after the commit, as before: nothing rendered ahead for a write that failed is ever written.
 * A worker that fails, runs out of its memory limit or takes too long is dropped, and the run
 * renders those services itself, as it would without it.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Service } from '../model/types';
import { loopTurn } from '../slices';
import type { Alone } from './render';
import type { DynamicMode } from './template-context';
import type { TemplateSources } from './templates';

/** What the worker needs besides the services (they are sent in parts). */
export interface AheadSetup {
  sources: TemplateSources;
  httpListen: string;
  dynamic: DynamicMode;
}

/** What a worker delivered: what each service computed, in order; or why it delivered nothing. */
export type AheadResult = { rendered: Array<Alone | null>; failure: null } | { rendered: null; failure: string };

/** A render in a worker. */
export interface AheadJob {
  services: readonly Service[];
  result: Promise<AheadResult>;
  /** Stops the worker; `result` fails with `cancelled` unless it was complete. */
  cancel(): void;
}

/**
 * Services per message each way: a part is serialised and read in a millisecond or two, so
 * neither thread holds its event loop long (the main thread answers DNS meanwhile).
 */
const PART = 250;
/**
 * The worker is dropped when this long passes without a part of its answer (it sends one every few
 * tens of milliseconds, and compiles the templates in about a hundred first): a run waiting for it
 * would otherwise wait behind a stuck thread.
 */
export const AHEAD_STALL_MS = 5_000;
/**
 * The worker's heap limits (MB). 20,000 services, their copies and the text rendered for them
 * take well under the old-generation limit; the young generation is capped as the deployment caps
 * the main thread's.
 */
const LIMITS = { maxOldGenerationSizeMb: 192, maxYoungGenerationSizeMb: 12 };

/**
 * The worker's code: the compiled file next to this one, or the TypeScript source through tsx's
 * require hook (tests and `tsx` runs; loader flags such as `--import` do not reach a worker on Node 20).
 */
function startWorker(setup: AheadSetup): Worker {
  const options = { workerData: setup, resourceLimits: LIMITS };
  if (!__filename.endsWith('.ts')) return new Worker(path.join(__dirname, 'render-worker.js'), options);
  const source = path.join(__dirname, 'render-worker.ts');
  return new Worker(`require(${JSON.stringify(require.resolve('tsx/cjs'))}); require(${JSON.stringify(source)});`, { ...options, eval: true });
}

/** Starts a worker rendering `services`; never throws (a worker that cannot start fails the result). */
export function renderInWorker(services: readonly Service[], setup: AheadSetup, stallMs = AHEAD_STALL_MS): AheadJob {
  let settle: (r: AheadResult) => void = () => undefined;
  const result = new Promise<AheadResult>((resolve) => (settle = resolve));
  const out: Array<Alone | null> = [];
  let worker: Worker | undefined;
  let done = false;
  let timer: NodeJS.Timeout | undefined;
  const finish = (r: AheadResult) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    void worker?.terminate().catch(() => undefined);
    settle(r);
  };
  const fail = (failure: string) => finish({ rendered: null, failure });
  const job = { services, result, cancel: () => fail('cancelled') };
  // Waits for the next part of the answer at most `stallMs`.
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => fail(`no answer for ${stallMs} ms`), stallMs);
    timer.unref();
  };
  if (services.length === 0) {
    finish({ rendered: [], failure: null });
    return job;
  }
  try {
    worker = startWorker(setup);
  } catch (err) {
    fail(`the worker did not start: ${(err as Error).message}`);
    return job;
  }
  const w = worker;
  arm();
  w.unref();
  w.on('message', (part: unknown) => {
    if (done) return;
    if (!Array.isArray(part) || out.length + part.length > services.length) return fail('the worker answered something else than asked');
    for (const c of part as Array<Alone | null>) out.push(c);
    if (out.length === services.length) return finish({ rendered: out, failure: null });
    arm();
  });
  w.on('error', (err) => fail(`the worker failed: ${err.message}`));
  w.on('exit', (code) => fail(`the worker exited (code ${code})`));
  void (async () => {
    for (let i = 0; i < services.length && !done; i += PART) {
      w.postMessage(services.slice(i, i + PART));
      await loopTurn();
    }
  })().catch((err: Error) => fail(`the services could not be sent: ${err.message}`));
  return job;
}
