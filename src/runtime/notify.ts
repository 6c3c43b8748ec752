import pg from 'pg';
import type { Logger } from '../log';

/**
 * The channel journal positions are announced on. The database itself NOTIFYs it whenever a
 * transaction that appended journal rows commits (a trigger, migrations/009_registry_journal_notify.ts).
 */
const JOURNAL_CHANNEL = 'berth_journal';

/**
 * Standby side: LISTEN on a dedicated connection (the knex pool would hand the session back and
 * drop the subscription) and call `onNotify` per notification. Reconnects with capped backoff;
 * notifications sent while disconnected are lost, which the periodic catch-up covers.
 */
export function listenJournal(databaseUrl: string, onNotify: (position: number) => void, logger: Logger): () => Promise<void> {
  let client: pg.Client | null = null;
  let stopped = false;
  let attempt = 0;
  let timer: NodeJS.Timeout | undefined;
  const connect = async () => {
    if (stopped) return;
    const c = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000 });
    client = c;
    const retry = (why: string) => {
      if (stopped || client !== c) return;
      client = null;
      c.end().catch(() => undefined);
      const delay = Math.min(5000, 200 * 2 ** attempt++);
      logger.debug({ why, retryInMs: delay }, 'journal listener reconnecting');
      timer = setTimeout(() => void connect(), delay);
    };
    c.on('error', (err) => retry(err.message));
    c.on('end', () => retry('connection ended'));
    c.on('notification', (n) => {
      const position = Number(n.payload);
      if (n.channel === JOURNAL_CHANNEL && Number.isFinite(position)) onNotify(position);
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${JOURNAL_CHANNEL}`);
      attempt = 0;
      // Anything committed while we were not listening: catch up once.
      onNotify(Number.NaN);
    } catch (err) {
      retry((err as Error).message);
    }
  };
  void connect();
  return async () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    const c = client;
    client = null;
    await c?.end().catch(() => undefined);
  };
}
