/**
 * What the dashboard watches, reduced to one comparable value per topic. A topic whose value
 * changed between two looks is announced to every live client as "changed"; the page then re-reads
 * that topic through the ordinary API, so the stream itself carries no data worth protecting.
 */
import type { Knex } from 'knex';
import type { SyncStatusView } from '../nginx/sync-run';
import type { RegistryStatus } from '../registry/types';

export const TOPICS = ['registry', 'problems', 'pools', 'sync'] as const;
export type Topic = (typeof TOPICS)[number];
export type Fingerprint = Record<Topic, string>;

/** The sources a fingerprint is read from (`Registry`, `NginxSync` and the database implement them). */
export interface LiveSources {
  registry: { status(): RegistryStatus; onChange(listener: (position: number) => void): () => void };
  nginx: { status(): SyncStatusView };
  /** A value that moves on every IPAM change (pool, allocation, reservation, reconciliation). */
  poolsVersion(): Promise<string>;
}

/** The newest IPAM audit event id: every IPAM change appends one, on any replica (primary-key lookup). */
export function ipamVersion(knex: Knex): () => Promise<string> {
  return async () => {
    const { rows } = await knex.raw('SELECT coalesce(max(id), 0)::text AS id FROM ipam_event');
    return String(rows[0].id);
  };
}

/** Reads every topic's current value. */
export async function fingerprint(s: LiveSources): Promise<Fingerprint> {
  const r = s.registry.status();
  const n = s.nginx.status();
  return {
    registry: `${r.loaded}:${r.position}`,
    problems: `${r.problems}:${r.held ? `${r.held.since}:${r.held.attempts}` : '-'}:${n.held ? n.held.since : '-'}:${n.excluded.length}`,
    pools: await s.poolsVersion(),
    sync: `${n.lastRun?.id ?? n.lastRun?.finishedAt ?? '-'}:${n.held ? 'held' : '-'}`,
  };
}

/** The topics whose value differs between two fingerprints. */
export function changedTopics(before: Fingerprint, after: Fingerprint): Topic[] {
  return TOPICS.filter((t) => before[t] !== after[t]);
}
