import type { Service } from '../model/types';

/** A consistent read of the registry: every service at one journal position. */
export interface RegistrySnapshot {
  /** Journal position this snapshot includes (monotonic; 0 = empty registry never written). */
  position: number;
  /** True once the registry has ever been loaded from Marathon or from the database. */
  loaded: boolean;
  services: Service[];
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
}

/** A RegistryView over plain data, for tests, benchmarks and `render --dry-run` fixtures. */
export class InMemoryRegistryView implements RegistryView {
  private current: RegistrySnapshot = { position: 0, loaded: false, services: [] };
  private readonly listeners = new Set<(position: number) => void>();

  /** Replace the whole catalog and advance the journal by one. */
  set(services: Service[]): void {
    this.current = { position: this.current.position + 1, loaded: true, services };
    for (const l of this.listeners) l(this.current.position);
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
}
