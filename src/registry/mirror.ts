/**
 * The in-memory copy of what the database holds (published services, problems, journal position),
 * so `snapshot()`, the API and event handling never read the database. It is replaced only after
 * a write committed.
 */
import type { Problem, Service } from '../model/types';
import { problemKey } from '../model/problems';
import { appIdOfKey, comparePorts, serviceKey } from '../model/service-key';
import type { RegistrySnapshot } from './view';
import type { RegistryGaugeData } from './metrics';
import type { StoredProblem } from './store';

/** Read side of the registry, shared by the view, the API and the writers. */
export class Mirror {
  position = 0;
  loaded = false;
  /** Published services by `serviceKey` (app id, plus `#<port>` for a per-port service). */
  services = new Map<string, Service>();
  /** Problems by `problemKey`. */
  problems = new Map<string, StoredProblem>();
  private snapshotCache: RegistrySnapshot | null = null;
  private domainIndex: Map<string, Service> | null = null;

  /** Replace the published services (after a committed write). */
  setServices(next: Map<string, Service>): void {
    this.services = next;
    this.snapshotCache = null;
    this.domainIndex = null;
  }

  /** Replace and remove some services in place (after a committed partial write). */
  updateServices(upserts: readonly Service[], removals: readonly Service[]): void {
    for (const s of removals) this.services.delete(serviceKey(s));
    for (const s of upserts) this.services.set(serviceKey(s), s);
    this.snapshotCache = null;
    this.domainIndex = null;
  }

  /** Whether the app publishes any service (its main one or a port). */
  publishes(appId: string): boolean {
    if (this.services.has(appId)) return true;
    for (const key of this.services.keys()) if (appIdOfKey(key) === appId) return true;
    return false;
  }

  setProblems(next: Map<string, StoredProblem>): void {
    this.problems = next;
  }

  /** A consistent snapshot; built once per position, then shared (consumers must not mutate it). */
  snapshot(): RegistrySnapshot {
    if (!this.snapshotCache || this.snapshotCache.position !== this.position || this.snapshotCache.loaded !== this.loaded) {
      this.snapshotCache = { position: this.position, loaded: this.loaded, services: sortServices([...this.services.values()]) };
    }
    return this.snapshotCache;
  }

  /** Services of one environment (or all), sorted by env then app id. */
  list(env?: string): Service[] {
    const all = this.snapshot().services;
    return env === undefined ? all : all.filter((s) => s.env === env);
  }

  /** The service that owns `domain` in `env`. */
  find(env: string, domain: string): Service | undefined {
    if (!this.domainIndex) {
      const idx = new Map<string, Service>();
      for (const s of this.services.values()) for (const d of s.domains) idx.set(`${s.env}\u0000${d}`, s);
      this.domainIndex = idx;
    }
    return this.domainIndex.get(`${env}\u0000${domain.toLowerCase().replace(/\.$/, '')}`);
  }

  /** Problems sorted by app id, then code. */
  listProblems(): StoredProblem[] {
    return [...this.problems.values()].sort((a, b) => (a.appId === b.appId ? cmp(a.code, b.code) : cmp(a.appId, b.appId)));
  }

  /** Problems of one source, by key. */
  problemsOf(source: string): Map<string, Problem> {
    const out = new Map<string, Problem>();
    for (const [k, p] of this.problems) if (p.source === source) out.set(k, p);
    return out;
  }

  /** Total endpoints published. */
  endpointCount(services: Iterable<Service> = this.services.values()): number {
    let n = 0;
    for (const s of services) n += s.endpoints.length;
    return n;
  }

  /** Sizes for the scrape-time gauges. */
  gaugeData(held: boolean): RegistryGaugeData {
    const servicesByEnv = new Map<string, number>();
    const endpointsByEnv = new Map<string, number>();
    for (const s of this.services.values()) {
      servicesByEnv.set(s.env, (servicesByEnv.get(s.env) ?? 0) + 1);
      endpointsByEnv.set(s.env, (endpointsByEnv.get(s.env) ?? 0) + s.endpoints.length);
    }
    const problemsByCode = new Map<string, number>();
    for (const p of this.problems.values()) problemsByCode.set(p.code, (problemsByCode.get(p.code) ?? 0) + 1);
    return { servicesByEnv, endpointsByEnv, problemsByCode, position: this.position, held };
  }

  /** Apply a problem diff to a copy of the problem map. */
  withProblems(source: string, raised: StoredProblem[], cleared: Problem[]): Map<string, StoredProblem> {
    const next = new Map(this.problems);
    for (const p of cleared) if (next.get(problemKey(p))?.source === source) next.delete(problemKey(p));
    for (const p of raised) next.set(problemKey(p), p);
    return next;
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortServices(list: Service[]): Service[] {
  return list.sort((a, b) => (a.env !== b.env ? cmp(a.env, b.env) : a.appId !== b.appId ? cmp(a.appId, b.appId) : comparePorts(a, b)));
}
