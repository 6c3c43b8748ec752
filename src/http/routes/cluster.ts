import type { FastifyInstance } from 'fastify';
import type { Knex } from 'knex';
import { knexQuery, readCluster } from '../../cluster/sql';
import { replicaState } from '../../cluster/readiness';
import type { JournalLag, Leadership, MemberRecord } from '../../cluster/types';
import { errorResponses } from '../schemas';

const nullable = (type: string) => ({ type: [type, 'null'] });

const memberSchema = {
  type: 'object',
  required: ['id', 'apiUrl', 'role', 'epoch', 'startedAt', 'heartbeatAt', 'alive'],
  properties: {
    id: { type: 'string' },
    apiUrl: nullable('string'),
    role: { type: 'string', enum: ['leader', 'standby'] },
    epoch: nullable('integer'),
    startedAt: { type: 'string', format: 'date-time' },
    heartbeatAt: { type: 'string', format: 'date-time' },
    alive: { type: 'boolean', description: 'heartbeat seen recently' },
  },
} as const;

const journalSchema = {
  description: "how current this replica's registry view is (absent when nothing follows the journal)",
  type: 'object',
  required: ['position', 'head', 'behind', 'ageSeconds', 'maxLagSeconds', 'fresh'],
  properties: {
    position: { ...nullable('integer'), description: 'journal position of this replica’s view' },
    head: { ...nullable('integer'), description: 'journal head in the database at the last check' },
    behind: { ...nullable('integer'), description: 'positions behind the head at the last check' },
    ageSeconds: { type: 'number', description: 'seconds since the view was last confirmed equal to the head' },
    maxLagSeconds: { type: 'number' },
    fresh: { type: 'boolean' },
  },
} as const;

const clusterSchema = {
  type: 'object',
  required: ['self', 'leader', 'members'],
  properties: {
    self: {
      type: 'object',
      required: ['id', 'apiUrl', 'role', 'epoch', 'leaderSince', 'startedAt'],
      properties: {
        id: { type: 'string' },
        apiUrl: nullable('string'),
        role: { type: 'string', enum: ['leader', 'standby'] },
        epoch: { ...nullable('integer'), description: 'fencing epoch this replica leads in' },
        leaderSince: nullable('string'),
        startedAt: { type: 'string', format: 'date-time' },
        fresh: { type: 'boolean', description: 'false when journal lag exceeds the bound (readiness fails too)' },
        journal: journalSchema,
      },
    },
    leader: {
      description: 'the leader recorded in the database (null before the first election)',
      anyOf: [
        { type: 'null' },
        {
          type: 'object',
          required: ['id', 'apiUrl', 'epoch', 'acquiredAt', 'heartbeatAt', 'alive'],
          properties: {
            id: { type: 'string' },
            apiUrl: nullable('string'),
            epoch: { type: 'integer', description: 'fencing epoch' },
            acquiredAt: { type: 'string', format: 'date-time', description: 'when it became leader' },
            startedAt: { ...nullable('string'), description: 'when the leader process started (null: no heartbeat row)' },
            heartbeatAt: nullable('string'),
            alive: { type: 'boolean' },
          },
        },
      ],
    },
    members: { type: 'array', items: memberSchema },
  },
} as const;

/**
 * `GET /v1/cluster`: this replica's role and epoch, the leader recorded in the database and every
 * replica with its heartbeat. A replica is `alive` while its heartbeat is younger than `staleAfterMs`.
 */
export function registerClusterRoutes(
  app: FastifyInstance,
  deps: { leadership: Leadership; knex: Knex; staleAfterMs?: number; journal?: () => JournalLag | undefined },
): void {
  const staleAfterMs = deps.staleAfterMs ?? 5000;
  app.get(
    '/v1/cluster',
    {
      schema: {
        tags: ['cluster'],
        summary: 'Replicas, their roles and the current leader with its fencing epoch',
        response: { 200: clusterSchema, ...errorResponses(503) },
      },
    },
    async () => {
      const { leadership: l } = deps;
      const { leader, members, now } = await readCluster(knexQuery(deps.knex));
      // Ages are measured on the database clock, which wrote the heartbeats.
      const alive = (m: MemberRecord) => now.getTime() - m.heartbeatAt.getTime() <= staleAfterMs;
      const holder = leader ? members.find((m) => m.id === leader.holderId) : undefined;
      const state = replicaState(l, deps.journal);
      return {
        self: {
          id: l.id,
          apiUrl: l.apiUrl(),
          role: l.role(),
          epoch: l.epoch(),
          leaderSince: l.leaderSince()?.toISOString() ?? null,
          startedAt: l.startedAt.toISOString(),
          fresh: state.fresh,
          ...(state.journal ? { journal: state.journal } : {}),
        },
        leader: leader && {
          id: leader.holderId,
          apiUrl: leader.holderUrl,
          epoch: leader.epoch,
          acquiredAt: leader.acquiredAt.toISOString(),
          startedAt: holder?.startedAt.toISOString() ?? null,
          heartbeatAt: holder?.heartbeatAt.toISOString() ?? null,
          alive: holder ? alive(holder) && holder.epoch === leader.epoch : false,
        },
        members: members.map((m) => ({
          id: m.id,
          apiUrl: m.url,
          role: m.role,
          epoch: m.epoch,
          startedAt: m.startedAt.toISOString(),
          heartbeatAt: m.heartbeatAt.toISOString(),
          alive: alive(m),
        })),
      };
    },
  );
}
