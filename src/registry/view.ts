import type { Service } from '../model/types';
import { serviceKey } from '../model/service-key';
import { ChangeLog } from './changes';

/** A consistent read of the registry: every service at one journal position. */
export interface RegistrySnapshot {
  /** Journal position this snapshot includes (monotonic; 0 = empty registry never written). */
  position: number;
  /** True once the registry has ever been loaded from Marathon or from the database. */
  loaded: boolean;
  services: Service[];
}

/** The services that changed between a consumer's position and `position`. */
export interface RegistryChanges {
  position: number;
  loaded: boolean;
  /** By `serviceKey` (model/service-key): the service as it is now, or null when it is no longer published. */
  changed: ReadonlyMap<string, Service | null>;
}

/**
 * What the consumers (DNS, Nginx) read. The registry implements it over the database; tests use
 * `InMemoryRegistryView`. Consumers never write through it.
 */
export interface RegistryView {
  snapshot(): Promise<RegistrySnapshot>;
  /** Latest journal position; cheap, used to skip work when nothing changed. */
  position(): Promise<number>;
  /** Called (possibly coalesced) after the journal advanced. Returns an unsubscribe function. */
  onChange(listener: (position: number) => void): () => void;
  /**
   * The services changed since `position` (a position this view reported before), or null when it
   * cannot tell (too far behind, or the state was reloaded wholesale): read a snapshot then.
   * Optional: a view without it is always read whole.
   */
  changesSince?(position: number): Promise<RegistryChanges | null>;
}

/** A RegistryView over plain data, for tests, benchmarks and `render --dry-run` fixtures. */
export class InMemoryRegistryView implements RegistryView {
  private current: RegistrySnapshot = { position: 0, loaded: false, services: [] };
  private readonly listeners = new Set<(position: number) => void>();
  private readonly log = new ChangeLog();

  /** Replace the whole catalog and advance the journal by one. */
  set(services: Service[]): void {
    const before = new Map(this.current.services.map((s) => [serviceKey(s), s]));
    const ids = new Set<string>();
    for (const s of services) if (before.get(serviceKey(s)) !== s) ids.add(serviceKey(s));
    const now = new Set(services.map(serviceKey));
    for (const id of before.keys()) if (!now.has(id)) ids.add(id);
    this.advance(services, [...ids]);
  }

  /** Replace or add some services and remove others (by `serviceKey`), advancing the journal by one. */
  update(upserts: Service[], removals: string[] = []): void {
    const next = new Map(this.current.services.map((s) => [serviceKey(s), s]));
    for (const id of removals) next.delete(id);
    for (const s of upserts) next.set(serviceKey(s), s);
    this.advance([...next.values()], [...upserts.map(serviceKey), ...removals]);
  }

  async snapshot(): Promise<RegistrySnapshot> {
    return this.current;
  }

  async position(): Promise<number> {
    return this.current.position;
  }

  onChange(listener: (position: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async changesSince(position: number): Promise<RegistryChanges | null> {
    const ids = this.log.since(position);
    if (!ids) return null;
    const byId = new Map(this.current.services.map((s) => [serviceKey(s), s]));
    return { position: this.current.position, loaded: this.current.loaded, changed: new Map([...ids].map((id) => [id, byId.get(id) ?? null])) };
  }

  /** Tests: silently forget what changed (as a replica that reloaded from the database would). */
  forgetChanges(): void {
    this.log.reset(this.current.position);
  }

  private advance(services: Service[], ids: string[]): void {
    const from = this.current.position;
    this.current = { position: from + 1, loaded: true, services };
    this.log.record(from, from + 1, ids);
    for (const l of this.listeners) l(this.current.position);
  }
}
