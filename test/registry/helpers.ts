import type { Knex } from 'knex';
import { Registry as PromRegistry } from 'prom-client';
import type { Clock } from '../../src/clock';
import { silentLogger } from '../../src/log';
import type { MarathonEvent } from '../../src/marathon/types';
import { classifyEvent, isEndpointChange } from '../../src/model/events';
import { createRegistryMetrics, type RegistryMetrics } from '../../src/registry/metrics';
import { Registry, type EventOutcome, type RegistryOptions } from '../../src/registry/registry';
import { StaticHostResolver } from '../../src/registry/resolver';

/** Empty the registry tables between tests (one database per suite). */
export async function resetRegistryTables(knex: Knex): Promise<void> {
  await knex.raw('truncate registry_endpoints, registry_services, registry_journal, registry_problems restart identity cascade');
}

/** A manual clock: `now` moves only when told; timers run on `advance`. */
export class ManualClock implements Clock {
  private t = Date.parse('2026-01-01T00:00:00.000Z');
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private nextId = 1;

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): { unref?: () => void } {
    const id = this.nextId++;
    this.timers.push({ at: this.t + ms, fn, id });
    return { id } as unknown as { unref?: () => void };
  }

  clearTimeout(handle: unknown): void {
    const id = (handle as { id?: number })?.id;
    this.timers = this.timers.filter((t) => t.id !== id);
  }

  /** Move time forward, running due timers in order. */
  advance(ms: number): void {
    const until = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > until) break;
      this.timers.shift();
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = until;
  }

  pending(): number {
    return this.timers.length;
  }
}

/** Open a registry on `knex` with test defaults. */
export async function openRegistry(
  knex: Knex,
  over: Partial<RegistryOptions> = {},
): Promise<{ registry: Registry; metrics: RegistryMetrics; prom: PromRegistry }> {
  const prom = new PromRegistry();
  const metrics = createRegistryMetrics(prom);
  const registry = await Registry.open({
    knex,
    logger: silentLogger,
    defaultEnv: 'default',
    maxRemovalRatio: 0.5,
    resolver: new StaticHostResolver({ 'agent-1.dc': '10.0.0.11' }),
    metrics,
    ...over,
  });
  return { registry, metrics, prom };
}

/** Poll `cond` until true or the deadline passes (no sleeps as synchronisation). */
export async function eventually(cond: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setImmediate(r));
  }
}

/** Classify a task/health event (as the sync does) and hand it to the registry. */
export function applyEvent(registry: Registry, e: MarathonEvent): Promise<EventOutcome> {
  const c = classifyEvent(e);
  if (!isEndpointChange(c)) throw new Error(`not a task or health event: ${c.kind}`);
  return registry.applyChange(c);
}
