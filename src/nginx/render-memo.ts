/**
 * The render memo: what earlier runs rendered, so a run renders only what changed (the class
 * comment says how; docs/performance.md "What changed" says what it saves). The render loop
 * (render.ts) decides what each position produces; this module only remembers it.
 */
import type { Service } from '../model/types';
import type { RenderedFile, RenderRejection, RenderResult } from './rendered-file';
import { sortOrder } from './render-order';

interface MemoEntry {
  key: string;
  errs: string[];
  /** The template output, until the entry's file is made from it. */
  body?: string;
  error?: string;
  /** The file, made once per entry: the same object (and content string) every run, so comparing it with what berth last wrote is a pointer check. */
  file?: RenderedFile;
  /** The memo run that last used this entry; dropped: forgotten by `rotate` (an object still pointing at it must render again). */
  used: number;
  dropped?: boolean;
}

/** What rendering a service (or a member's locations) computed: the memo entry without its bookkeeping. */
export type Computed = Omit<MemoEntry, 'used' | 'key'>;

/** What one render position produced; its kind is one of the three below (kept as numbers in a typed array). */
export type Outcome = RenderedFile | RenderRejection | undefined;
export const NOTHING = 0;
export const FILE = 1;
export const REJECTED = 2;

/** A run's services, memo entries and outcomes by render position. */
interface Positions {
  services: Service[];
  entries: Array<MemoEntry | undefined>;
  kinds: Uint8Array;
  outcomes: Outcome[];
  /** No two positions had the same file path (so one position's outcome never depends on another's). */
  distinct: boolean;
  /**
   * What the shared domains (`berth.path`) added to the run: their files and rejections, and the
   * files of members it refused; null when no domain was shared. A patch keeps it as it is (it
   * only patches services that neither are path apps nor are on a shared domain, before and after).
   */
  group: GroupPart | null;
}

interface GroupPart {
  files: RenderedFile[];
  rejected: RenderRejection[];
  removed: ReadonlySet<string>;
}

const positions = (n: number): Positions => ({
  services: new Array(n),
  entries: new Array(n),
  kinds: new Uint8Array(n),
  outcomes: new Array(n),
  distinct: true,
  group: null,
});

/**
 * Validation, template output and the rendered file per exact service value, kept from one run to
 * the next: most runs change a few services, and rendering 10,000 through Handlebars holds the
 * event loop (which also serves DNS) for seconds. Entries unused in a run are dropped after it.
 * The key is the whole service value (its definition alone where endpoints are not rendered), so
 * any field a service gains is part of it without changes here.
 *
 * It also keeps what the last run made at each render position: when the registry hands out the
 * same names in the same places (a change replaces a service in place) and only HTTP services
 * changed, a run renders the changed positions and copies the rest (`changes`, `patchAt`, `assemble`), touching neither
 * the memo entries nor the files of the others; at 10,000 services that is the difference
 * between a few milliseconds and tens of them.
 */
export class RenderMemo {
  private readonly byKey = new Map<string, MemoEntry>();
  // Registry services are immutable values and an unchanged one is the same object from run to
  // run: found by identity, it costs no JSON.stringify (at 10,000 services that was most of the
  // garbage each run made, and the collector's pauses delayed DNS answers).
  private readonly byObject = new WeakMap<Service, MemoEntry>();
  private run = 0;
  /** Distinct entries used in this run. */
  private usedInRun = 0;
  private order: { input: readonly Service[]; perm: Uint32Array } | null = null;
  private previous: Positions | null = null;
  private current: Positions = positions(0);
  /** This run was a `patch`: only `released` entries may have fallen out of use. */
  private patched = false;
  private released: MemoEntry[] = [];

  lookup(key: string, compute: () => Computed): MemoEntry {
    let entry = this.byKey.get(key);
    if (!entry) this.byKey.set(key, (entry = { ...compute(), key, used: this.run - 1 }));
    return this.use(entry);
  }

  private use(entry: MemoEntry): MemoEntry {
    if (entry.used !== this.run) this.usedInRun++;
    entry.used = this.run;
    return entry;
  }

  /** Takes `computed` as the output of `s` under `key` (computed elsewhere: render-ahead.ts), unless an entry has it already. */
  seed(s: Service, key: string, computed: Computed): void {
    this.byObject.set(
      s,
      this.lookup(key, () => computed),
    );
  }

  /**
   * `lookup` by the service value, skipping the key for a service object seen before. `keyOf`:
   * what identifies the output (the whole service by default; its definition when endpoints are not rendered).
   */
  forService(s: Service, compute: (s: Service) => Computed, keyOf: (s: Service) => string = JSON.stringify): MemoEntry {
    const known = this.byObject.get(s);
    if (known && !known.dropped) return this.use(known);
    const entry = this.lookup(keyOf(s), () => compute(s));
    this.byObject.set(s, entry);
    return entry;
  }

  /**
   * `services` in render order. The registry hands out the same names in the same places from
   * one run to the next, so the previous run's order is reused after a check of the names
   * instead of sorting 10,000 services again.
   */
  sorted(services: readonly Service[]): Service[] {
    const last = this.order;
    // A copy of the list: the caller's array may change after the call (the registry's does not, a test's may).
    const input = services.slice();
    if (!last || last.input.length !== input.length || !sameNames(last.input, input)) {
      this.order = { input, perm: sortOrder(input) };
      this.previous = null; // positions no longer correspond
    } else this.order = { input, perm: last.perm };
    const sorted = Array.from(this.order.perm, (i) => input[i]);
    this.current = positions(sorted.length);
    return sorted;
  }

  /**
   * `forService` for the service at render position `i` (of `sorted`): the same object as last run's there takes its entry without a lookup.
   * `key`: the output depends on more than the service (a `/` app on a domain shared by path), look it up by this key.
   */
  at(i: number, s: Service, compute: (s: Service) => Computed, keyOf: (s: Service) => string, key?: string): MemoEntry {
    const prev = this.previous;
    // After a run with shared domains, the entry at a position may have been made for other shared names
    // (this walk is not a patch: a path app changed).
    const entry =
      key !== undefined
        ? this.lookup(key, () => compute(s))
        : prev && prev.group === null && prev.services[i] === s && prev.entries[i]
          ? this.use(prev.entries[i])
          : this.forService(s, compute, keyOf);
    this.current.services[i] = s;
    this.current.entries[i] = entry;
    return entry;
  }

  /** What position `i` produced in this run (`path`: the file it names, to tell whether two positions collide). */
  record(i: number, s: Service, outcome: Outcome, kind: number, path: string | null, seen: Set<string>): void {
    const cur = this.current;
    cur.services[i] = s;
    cur.kinds[i] = kind;
    cur.outcomes[i] = outcome;
    if (path !== null) {
      if (seen.has(path)) cur.distinct = false;
      seen.add(path);
    }
  }

  /**
   * The positions to render when only HTTP services changed in place since the last run (same
   * names, same port, HTTP before and after: the same file path, no effect on another position);
   * the others keep what they made (`patchAt` each of them, then `assemble`). Null when the whole
   * list must be rendered. `tied(s)`: the service is a path app or on a domain shared by path, so its
   * change can change other files (which names a `/` app keeps, a shared domain's file): the whole
   * list then goes through the cache.
   */
  changes(sorted: readonly Service[], tied: (s: Service) => boolean): number[] | null {
    const prev = this.previous;
    if (!prev || !prev.distinct || prev.services.length !== sorted.length) return null;
    const changed: number[] = [];
    for (let i = 0; i < sorted.length; i++) {
      const a = prev.services[i];
      const b = sorted[i];
      if (a === b) continue;
      if (a.proxy !== 'http' || b.proxy !== 'http' || changed.length > sorted.length / 8 || tied(a) || tied(b)) return null;
      changed.push(i);
    }
    this.current = prev;
    this.patched = true;
    return changed;
  }

  /** Renders position `i` again (see `changes`). */
  patchAt(i: number, s: Service, step: (s: Service, i: number) => { outcome: Outcome; kind: number }): void {
    const cur = this.current;
    const old = cur.entries[i];
    if (old) this.released.push(old);
    const { outcome, kind } = step(s, i);
    cur.services[i] = s;
    cur.kinds[i] = kind;
    cur.outcomes[i] = outcome;
  }

  /** The result of a patched run: every position's outcome, in render order. */
  assemble(): RenderResult {
    const { kinds, outcomes, group } = this.current;
    const result: RenderResult = { files: [], rejected: [] };
    for (let i = 0; i < kinds.length; i++) {
      const k = kinds[i];
      if (k === FILE) {
        const f = outcomes[i] as RenderedFile;
        if (!group?.removed.has(f.path)) result.files.push(f);
      } else if (k === REJECTED) result.rejected.push(outcomes[i] as RenderRejection);
    }
    if (group) {
      result.files.push(...group.files);
      result.rejected.push(...group.rejected);
    }
    return result;
  }

  /** What the shared domains added to this (full) run, for the patches that follow. */
  recordGroup(group: GroupPart | null): void {
    this.current.group = group;
  }

  /** Ends a run: what was not looked up in it is forgotten. */
  rotate(): void {
    if (this.patched) {
      for (const e of this.released) if (e.used !== this.run) this.drop(e);
    } else if (this.usedInRun < this.byKey.size) {
      // Every entry used (nothing changed or went away): nothing to look for.
      for (const entry of this.byKey.values()) if (entry.used !== this.run) this.drop(entry);
    }
    this.run++;
    this.usedInRun = 0;
    this.patched = false;
    this.released = [];
    this.previous = this.current;
    this.current = positions(0);
  }

  private drop(entry: MemoEntry): void {
    entry.dropped = true;
    if (this.byKey.get(entry.key) === entry) this.byKey.delete(entry.key);
  }
}

function sameNames(a: readonly Service[], b: readonly Service[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && (a[i].env !== b[i].env || a[i].appId !== b[i].appId || a[i].port !== b[i].port)) return false;
  return true;
}
