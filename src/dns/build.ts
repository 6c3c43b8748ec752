/**
 * The DNS index: per-environment name tables whose answers are encoded before any reply needs them
 * (an app's names at the first question for any of them, fragment.ts). Pure (no I/O).
 *
 * Two ways to move it on (docs/dns.md "Following the registry"):
 * - `build`: new tables from a whole catalog, assembled off to the side and swapped in whole (first
 *   load, settings changes, the periodic safety net). Each app's names are checked once into a
 *   fragment that later builds reuse while the app is unchanged (encoded, too, once asked for).
 * - `patch`: the apps that changed since the served index, applied to the served tables in place.
 *   It costs the changed apps only, and is applied app by app: a query sees each app either wholly
 *   before or wholly after its change, never half of it.
 */
import { serviceKey } from '../model/service-key';
import type { EnvironmentConfig, Service } from '../model/types';
import { buildFragment, sameService, type Fragment, type FragmentContext } from './fragment';
import type { NameNode } from './node';
import { reverseZones } from './reverse';
import { NameTables, type ZoneInfo } from './tables';
import { checkTtl } from './encoder';
import { checkName } from './wire';

export type { NameNode } from './node';
export type { ZoneInfo } from './tables';

export interface DnsIndex {
  /** False until the registry has been loaded once: in-zone questions get SERVFAIL. */
  loaded: boolean;
  position: number;
  serial: number;
  /** Zones by name key. */
  zones: Map<string, ZoneInfo>;
  /** env → name key → node. */
  envs: Map<string, Map<string, NameNode>>;
  defaultEnv: string;
  names: number;
  skipped: string[];
  /** Clock time (ms) at which a held-back SOA serial increase is due (see `patch`); 0 or absent: none. */
  serialDue?: number;
}

export interface IndexOptions {
  zones: string[];
  reverseNetworks: string[];
  ttl: number;
  environments: Record<string, EnvironmentConfig>;
  defaultEnv: string;
  /** NS target and SOA MNAME; default `ns.<first zone>`. */
  nsName?: string;
  /** Addresses for `nsName` when it lies inside a served zone. */
  nsAddresses?: string[];
}

export interface IndexMeta {
  loaded: boolean;
  position: number;
  serial: number;
}

export interface PatchMeta {
  loaded: boolean;
  position: number;
  /** Clock time (ms): the serial is derived from it. */
  now: number;
}

/**
 * Patches raise the SOA serial at most this often: under a steady stream of changes the serial
 * tracks the clock (seconds) instead of running ahead of it by one per patch, and the apexes are
 * re-encoded once a second rather than per patch. A change is always followed by a higher serial
 * within this time.
 */
export const SERIAL_EVERY_MS = 1000;

/** Apps between two points where a sliced patch may let queries in. */
const PATCH_SLICE = 32;

/** Builds and patches the indexes of one DNS server. */
export class IndexBuilder {
  private tables: NameTables | null = null;
  private last: DnsIndex | null = null;
  private readonly ctx: FragmentContext;
  private readonly tablesOptions: ConstructorParameters<typeof NameTables>[0];
  private serialAt = -Infinity;
  private serialPending = false;

  constructor(opts: IndexOptions) {
    const nsName = (opts.nsName ?? `ns.${opts.zones[0]}`).toLowerCase();
    // Fail at construction, not on every build: these names go into every SOA and NS record.
    for (const n of [nsName, ...opts.zones]) checkName(n);
    // And the TTL, which every record carries: the encoding of an app's names, done at its first
    // question (fragment.ts), must find nothing left to refuse.
    checkTtl(opts.ttl);
    const baseZones = new Set(opts.zones.map((z) => z.toLowerCase()));
    for (const cidr of opts.reverseNetworks) for (const z of reverseZones(cidr)) baseZones.add(z);
    // Each zone's one string instance: every record set of the index refers to it (and its hash is computed once).
    const canonical = new Map([...baseZones].map((z) => [z, z]));
    const zoneOf = (name: string) => zoneIn(name, canonical);
    const nsZone = zoneOf(nsName);
    this.ctx = { zoneOf, environments: opts.environments, nsName, ttl: opts.ttl };
    this.tablesOptions = {
      baseZones,
      defaultEnv: opts.defaultEnv,
      nsName,
      nsZone,
      nsGlue: nsZone !== null ? (opts.nsAddresses ?? []) : [],
      rname: `hostmaster.${opts.zones[0]}`,
      ttl: opts.ttl,
    };
  }

  /**
   * A full build, yielding every few hundred items so the caller can run it in slices between
   * queries. Nothing DNS-visible changed (e.g. a new app version with the same tasks): the same
   * tables and serial, unless `reassemble` (the safety net: fresh tables whatever the patches did).
   */
  *build(services: readonly Service[], meta: IndexMeta, reassemble = false): Generator<void, DnsIndex> {
    const prev = this.tables;
    const fragments: Fragment[] = [];
    let changed = prev === null || this.last?.loaded !== meta.loaded || reassemble;
    let count = 0;
    for (const svc of meta.loaded ? services : []) {
      if ((++count & 15) === 0) yield; // a new service takes 50–100 µs to encode: 128 of them overran a 5 ms slice
      const old = prev?.fragment(svc.env, serviceKey(svc));
      const reuse = old !== undefined && sameService(old.svc, svc);
      changed ||= !reuse;
      fragments.push(reuse ? old : buildFragment(svc, this.ctx));
    }
    changed ||= fragments.length !== prev?.fragmentCount;
    if (!changed && this.last) return (this.last = { ...this.last, position: meta.position });

    const t = new NameTables(this.tablesOptions, meta.serial);
    for (const f of fragments) {
      if ((++count & 127) === 0) yield;
      t.put(f);
    }
    yield* t.flush(512);
    this.tables = t;
    this.serialPending = false;
    return (this.last = indexOf(t, meta.loaded, meta.position, 0));
  }

  /** True when `index` is the last one built here, so `patch` applies to what is being served. */
  serves(index: DnsIndex): boolean {
    return this.tables !== null && this.last !== null && index.envs === this.tables.envs && index.loaded === this.last.loaded;
  }

  /**
   * Applies changed services (by `serviceKey`; null = removed) to the tables of the last index, in place.
   * Yields between slices of whole apps. The SOA serial goes up at most once per SERIAL_EVERY_MS;
   * one held back shows as `serialDue` and a later patch (possibly with no changes) raises it.
   */
  *patch(changed: ReadonlyMap<string, Service | null>, meta: PatchMeta): Generator<void, DnsIndex> {
    const t = this.tables;
    if (!t || !this.last) throw new Error('dns: an index patch needs a full build first');
    let visible = 0;
    let n = 0;
    for (const [key, svc] of changed) {
      const old = svc && t.fragment(svc.env, key);
      if (old && sameService(old.svc, svc)) continue;
      // Gone, or moved to another environment: its names elsewhere go.
      for (const env of t.envsOf(key)) if (env !== svc?.env) t.remove(env, key);
      if (svc) t.put(buildFragment(svc, this.ctx));
      if (++n % PATCH_SLICE === 0) {
        visible += t.flushNow();
        yield;
      }
    }
    visible += t.flushNow();
    if (visible > 0) this.serialPending = true;
    if (this.serialPending && meta.now - this.serialAt >= SERIAL_EVERY_MS) {
      t.setSerial(Math.max(t.serial + 1, Math.floor(meta.now / 1000)));
      t.flushNow();
      this.serialAt = meta.now;
      this.serialPending = false;
    }
    if (visible === 0 && !this.serialPending && this.last.serial === t.serial) {
      return (this.last = { ...this.last, position: meta.position, loaded: meta.loaded, skipped: t.skipped(), serialDue: 0 });
    }
    return (this.last = indexOf(t, meta.loaded, meta.position, this.serialPending ? this.serialAt + SERIAL_EVERY_MS : 0));
  }
}

function indexOf(t: NameTables, loaded: boolean, position: number, serialDue: number): DnsIndex {
  return { loaded, position, serial: t.serial, zones: t.zones, envs: t.envs, defaultEnv: t.defaultEnv, names: t.names, skipped: t.skipped(), serialDue };
}

/** The zone (dotted) of `name`: its longest suffix in `zones` (as the map's own string), or null. */
function zoneIn(name: string, zones: ReadonlyMap<string, string>): string | null {
  for (let i = 0; ; i = name.indexOf('.', i) + 1) {
    const z = zones.get(i === 0 ? name : name.substring(i));
    if (z !== undefined) return z;
    if (name.indexOf('.', i) < 0) return null;
  }
}

/** Builds one index without reuse (tests, tools). */
export function buildIndex(services: readonly Service[], opts: IndexOptions, meta: IndexMeta): DnsIndex {
  const steps = new IndexBuilder(opts).build(services, meta);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}
