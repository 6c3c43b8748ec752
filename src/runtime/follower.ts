import type { Knex } from 'knex';
import { systemClock, type Clock } from '../clock';
import type { JournalLag } from '../cluster/types';
import type { Logger } from '../log';
import type { Registry } from '../registry/registry';
import { coalesce } from './coalesce';

/** Catch-up loop handle: `poke()` re-reads now (a notification arrived); `stop()` ends the loop. */
export interface JournalFollower {
  poke(): void;
  stop(): Promise<void>;
  /** How far this replica's view is behind the database's journal (see `JournalLag`). */
  lag(): JournalLag;
}

export interface FollowOptions {
  /** Reads the journal head (latest position) from the database. */
  head: () => Promise<number>;
  /** Poll interval (default 1000 ms). */
  intervalMs?: number;
  /** A view not confirmed current for longer than this is not fresh (default 10 s). */
  maxLagSeconds?: number;
  clock?: Clock;
}

/** The journal head straight from the database (one indexed read). */
export async function journalHead(knex: Knex): Promise<number> {
  const [row] = await knex('registry_journal').max({ p: 'position' });
  return Number(row?.p ?? 0);
}

/**
 * Keeps a standby replica's registry mirror (and so its DNS and Nginx) current with what the
 * leader writes: re-reads the database whenever the journal moved. It polls the journal head
 * (one indexed read) every `intervalMs`, and re-reads at once when poked by LISTEN/NOTIFY, which is
 * never the only path since notifications are lost across reconnects.
 *
 * Lag is measured as the age of the view: the time since a check last found (or made) it equal to
 * the database head. It grows while catch-up fails (database unreachable, load failing), which is
 * when DNS answers go stale; positions behind is what that last check saw. The leader writes the
 * journal itself, so its view is the head.
 */
export function followJournal(registry: Pick<Registry, 'refresh' | 'position'>, logger: Logger, active: () => boolean, opts: FollowOptions): JournalFollower {
  const intervalMs = opts.intervalMs ?? 1000;
  const maxLagSeconds = opts.maxLagSeconds ?? 10;
  const clock = opts.clock ?? systemClock;
  let failing = false;
  // Start-up loaded the registry from the database just before: current as of now.
  let currentAt = clock.now();
  let seen: { head: number; position: number } | null = null;

  const check = async (): Promise<void> => {
    const startedAt = clock.now();
    if (!active()) {
      // Leading: this replica writes the journal, its mirror is the head.
      const position = await registry.position();
      seen = { head: position, position };
      currentAt = startedAt;
      return;
    }
    const head = await opts.head();
    seen = { head, position: await registry.position() };
    // Behind: catch up. Ahead: the journal went back (a restored database), which refresh() reloads.
    if (seen.position !== head) await registry.refresh();
    // refresh() read the head again, so the view is at least as new as `head` read at `startedAt`.
    seen = { head, position: await registry.position() };
    currentAt = startedAt;
  };

  // Pokes during a read queue one more read right after it.
  const loop = coalesce({
    clock,
    everyMs: intervalMs,
    run: async () => {
      await check();
      if (failing) logger.info('registry catch-up recovered');
      failing = false;
    },
    onError: (err) => {
      if (!failing) logger.warn({ err: (err as Error).message }, 'registry catch-up failed; serving the last state');
      failing = true;
    },
  });
  loop.request({ immediate: true });

  return {
    poke: () => loop.request({ immediate: true }),
    stop: () => loop.stop(),
    lag: () => {
      // Leading: the view is the head at every instant (the ticks keep `currentAt` recent for the
      // moment leadership is lost and this replica follows again).
      if (!active()) return { position: seen?.position ?? null, head: seen?.position ?? null, behind: 0, ageSeconds: 0, maxLagSeconds, fresh: true };
      const ageSeconds = Math.max(0, (clock.now() - currentAt) / 1000);
      return {
        position: seen?.position ?? null,
        head: seen?.head ?? null,
        behind: seen ? Math.max(0, seen.head - seen.position) : null,
        ageSeconds: Math.round(ageSeconds * 1000) / 1000,
        maxLagSeconds,
        fresh: ageSeconds <= maxLagSeconds,
      };
    },
  };
}
