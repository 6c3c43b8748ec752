import type { Logger } from '../log';
import type { Leadership } from './types';

/** Starts leader-only work for one epoch; resolves to the function that stops it. */
export type LeaderWork = (epoch: number, signal: AbortSignal) => Promise<() => Promise<void>>;

/**
 * Runs `work` while this replica leads: started on `elected` (or at once if already leading),
 * stopped on `lost`. Transitions are serialised, so a stop always completes before the next
 * start, and the AbortSignal fires synchronously on `lost` for work that is mid-flight.
 * Returns a dispose that stops the work and detaches.
 */
export function whileLeader(leadership: Leadership, name: string, logger: Logger, work: LeaderWork): () => Promise<void> {
  let chain: Promise<void> = Promise.resolve();
  let running: { stop: () => Promise<void>; abort: AbortController } | null = null;
  let pending: AbortController | null = null;
  const log = logger.child({ component: 'cluster', work: name });

  const enqueue = (step: () => Promise<void>) => {
    chain = chain.then(step).catch((err) => log.error({ err }, 'leader-only work failed to start or stop'));
  };
  const onElected = (epoch: number) => {
    const abort = new AbortController();
    pending = abort;
    enqueue(async () => {
      // Lost again before our turn: nothing to start.
      if (abort.signal.aborted || leadership.epoch() !== epoch) return;
      const stop = await work(epoch, abort.signal);
      running = { stop, abort };
      log.info({ epoch }, 'leader-only work started');
      if (abort.signal.aborted) await stopRunning();
    });
  };
  const stopRunning = async () => {
    const r = running;
    running = null;
    if (!r) return;
    await r.stop();
    log.info('leader-only work stopped');
  };
  const onLost = () => {
    pending?.abort();
    running?.abort.abort();
    enqueue(stopRunning);
  };

  leadership.on('elected', onElected);
  leadership.on('lost', onLost);
  const now = leadership.epoch();
  if (now !== null) onElected(now);

  return async () => {
    leadership.off('elected', onElected);
    leadership.off('lost', onLost);
    onLost();
    await chain;
  };
}
