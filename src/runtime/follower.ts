import type { Logger } from '../log';
import type { Registry } from '../registry/registry';

/** Catch-up loop handle: `poke()` re-reads now (a notification arrived); `stop()` ends the loop. */
export interface JournalFollower {
  poke(): void;
  stop(): Promise<void>;
}

/**
 * Keeps a standby replica's registry mirror (and so its DNS and Nginx) current with what the
 * leader writes: re-reads the database whenever the journal moved. It polls the journal position
 * (one indexed read) every `intervalMs`, and re-reads at once when poked by LISTEN/NOTIFY, which is
 * never the only path since notifications are lost across reconnects.
 */
export function followJournal(registry: Registry, logger: Logger, active: () => boolean, intervalMs = 1000): JournalFollower {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | null = null;
  let again = false;
  let failing = false;
  const tick = (): void => {
    if (stopped) return;
    if (running) {
      again = true; // coalesce pokes that arrive during a read
      return;
    }
    if (timer) clearTimeout(timer);
    running = (active() ? registry.refresh() : Promise.resolve(false))
      .then(() => {
        if (failing) logger.info('registry catch-up recovered');
        failing = false;
      })
      .catch((err: Error) => {
        if (!failing) logger.warn({ err: err.message }, 'registry catch-up failed; serving the last state');
        failing = true;
      })
      .finally(() => {
        running = null;
        if (stopped) return;
        if (again) {
          again = false;
          tick();
        } else timer = setTimeout(tick, intervalMs);
      });
  };
  tick();
  return {
    poke: tick,
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
