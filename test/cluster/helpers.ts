import net from 'node:net';
import { openDatabase, type Database } from '../../src/db/knex';
import { migrateLatest } from '../../src/db/migrations';
import { silentLogger } from '../../src/log';
import { PgLeadership, type PgLeadershipOptions } from '../../src/cluster/pg-leadership';
import type { Leadership, LeadershipEvents } from '../../src/cluster/types';
import { createPgDatabase } from '../support/db';

/** A fresh migrated PostgreSQL database with its URL. */
export async function pgDatabase(): Promise<{ db: Database; url: string; drop: () => Promise<void> }> {
  const { url, drop } = await createPgDatabase();
  const db = await openDatabase({ url, dataDir: 'unused', poolMax: 5 });
  await migrateLatest(db.knex);
  return {
    db,
    url,
    drop: async () => {
      await db.close();
      await drop();
    },
  };
}

/** Fast timings so failover tests take well under a second or two. */
export function fastLeadership(databaseUrl: string, id: string, extra: Partial<PgLeadershipOptions> = {}): PgLeadership {
  return new PgLeadership({
    databaseUrl,
    id,
    logger: silentLogger,
    retryMs: 100,
    probeIntervalMs: 100,
    queryTimeoutMs: 1000,
    rejoinDelayMs: 1500,
    ...extra,
  });
}

/** Resolves with the arguments of the next `event`, or rejects after `timeoutMs`. */
export async function nextEvent<E extends keyof LeadershipEvents>(l: Leadership, event: E, timeoutMs: number): Promise<LeadershipEvents[E]> {
  return (await firstEvent([l], event, timeoutMs)).args;
}

/** The first of `ls` to emit `event` (and its arguments); every listener and the timer are removed after. */
export function firstEvent<L extends Leadership, E extends keyof LeadershipEvents>(
  ls: L[],
  event: E,
  timeoutMs: number,
): Promise<{ l: L; args: LeadershipEvents[E] }> {
  return new Promise((resolve, reject) => {
    const listeners = ls.map(
      (l) =>
        (...args: LeadershipEvents[E]) =>
          done(() => resolve({ l, args })),
    );
    const done = (settle: () => void) => {
      clearTimeout(timer);
      ls.forEach((l, i) => l.off(event, listeners[i]));
      settle();
    };
    const timer = setTimeout(() => done(() => reject(new Error(`no '${event}' within ${timeoutMs} ms`))), timeoutMs);
    ls.forEach((l, i) => l.on(event, listeners[i]));
  });
}

/**
 * A loopback TCP proxy in front of PostgreSQL that can be frozen: bytes stop flowing both ways and
 * closes are not passed on, as in a network partition (the server keeps the session open).
 */
export async function freezableProxy(targetUrl: string): Promise<{ url: string; freeze(): void; down(): void; up(): void; close(): Promise<void> }> {
  const target = new URL(targetUrl);
  let frozen = false;
  let refusing = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
    }
    client.on('data', (d) => frozen || upstream.write(d));
    upstream.on('data', (d) => frozen || client.write(d));
    client.on('close', () => frozen || upstream.destroy());
    upstream.on('close', () => frozen || client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = new URL(targetUrl);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as net.AddressInfo).port);
  return {
    url: url.toString(),
    freeze: () => {
      frozen = true;
    },
    /** Like a server going down: every connection is cut and new ones are refused until `up()`. */
    down: () => {
      refusing = true;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    up: () => {
      refusing = false;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
