/**
 * Who claims each name of a DNS index, per environment, and which names a change of claims leaves
 * to re-resolve. Kept apart from resolution (`tables.ts`) because recording a claim is bookkeeping
 * per app (one app's names replaced in place without looking at any other app), while resolving
 * turns a name's claims into the node queries read.
 *
 * A name in an environment can be claimed by app names (usually one app; two apps sharing a domain
 * are merged), by PTR records (the apps behind an address), and as the parent of other names (an
 * empty non-terminal). `put`/`remove` only record claims and mark names dirty.
 */
import { serviceKey } from '../model/service-key';
import { PARENT, PTR, type Fragment, type FragmentNode } from './fragment';
import { inserted, removed } from './lists';
import { PtrSet } from './ptr';

const NO_NAMES: readonly FragmentNode[] = Object.freeze([]);

/** Everything that claims one name in one environment. */
export class Claim {
  /** App names, sorted by app id (the order a full catalog lists them in); exact size, replaced on change. */
  names: readonly FragmentNode[] = NO_NAMES;
  /** Apps for which this is a parent of one of their names. */
  ents = 0;
  ptr: PtrSet | null = null;

  constructor(readonly zone: string) {}
}

/**
 * What the claims table holds per name: the name of one app stands for its own claim (almost every
 * name: no Claim and no list for it); anything more (two apps, a parent, a PTR set) is a Claim.
 */
export type Entry = Claim | FragmentNode;

/**
 * Told when an environment's PTR set at an address's own zone (an address outside every pool)
 * appears (+1) or empties (-1): that zone is served while some environment has one.
 */
export type OwnZoneCount = (key: string, zone: string, delta: number) => void;

/** The claims of every environment, the fragments behind them, and the names left dirty. */
export class NameClaims {
  /** env → name key → what claims it. */
  readonly byEnv = new Map<string, Map<string, Entry>>();
  /** env → names whose claims changed since the last flush. */
  readonly dirty = new Map<string, Set<string>>();
  /** By `fragmentId`. */
  private readonly fragments = new Map<string, Fragment>();
  private readonly appEnvs = new Map<string, string[]>();
  /** Until the first flush every name is dirty: a full build resolves them all without tracking each. */
  private isBulk = true;
  private readonly skippedBy = new Map<string, string[]>();
  private skippedList: string[] | null = [];

  constructor(
    private readonly defaultEnv: string,
    private readonly ownZone: OwnZoneCount,
  ) {}

  /** True until `endBulk`: every name counts as dirty and none is tracked. */
  get bulk(): boolean {
    return this.isBulk;
  }

  /** From now on each changed name is marked dirty. */
  endBulk(): void {
    this.isBulk = false;
  }

  get fragmentCount(): number {
    return this.fragments.size;
  }

  fragment(env: string, key: string): Fragment | undefined {
    return this.fragments.get(fragmentId(env, key));
  }

  /** Environments the service (by `serviceKey`) has names in (one, except in hand-made catalogs). */
  envsOf(key: string): readonly string[] {
    return this.appEnvs.get(key) ?? [];
  }

  /** Apps' domains outside every zone and values that failed validation. */
  skipped(): string[] {
    if (this.skippedList === null) this.skippedList = [...this.skippedBy.values()].flat();
    return this.skippedList;
  }

  /** Replaces the app's names in the fragment's environment. */
  put(f: Fragment): void {
    const key = serviceKey(f.svc);
    const id = fragmentId(f.env, key);
    const old = this.fragments.get(id);
    if (!old) this.appEnvs.set(key, [...this.envsOf(key), f.env]);
    this.fragments.set(id, f);
    // New claims before dropping the old ones: a PTR or parent name the app keeps never looks
    // unclaimed for a moment (an address shared by thousands of apps is not re-encoded).
    this.claim(f, id);
    if (old) this.unclaim(old, id);
  }

  /** Removes the app's names in `env`. */
  remove(env: string, key: string): void {
    const id = fragmentId(env, key);
    const old = this.fragments.get(id);
    if (!old) return;
    this.fragments.delete(id);
    const envs = this.envsOf(key).filter((e) => e !== env);
    if (envs.length > 0) this.appEnvs.set(key, envs);
    else this.appEnvs.delete(key);
    this.unclaim(old, id);
  }

  /** The claims of `env`, made empty on first use. */
  of(env: string): Map<string, Entry> {
    let c = this.byEnv.get(env);
    if (!c) this.byEnv.set(env, (c = new Map()));
    return c;
  }

  mark(env: string, key: string): void {
    if (this.isBulk) return;
    let s = this.dirty.get(env);
    if (!s) this.dirty.set(env, (s = new Set()));
    s.add(key);
  }

  /** An apex is served in the default env and wherever an env has something at that name. */
  markApex(key: string): void {
    this.mark(this.defaultEnv, key);
    for (const [env, claims] of this.byEnv) if (claims.has(key)) this.mark(env, key);
  }

  private claim(f: Fragment, id: string): void {
    const env = f.env;
    const claims = this.of(env);
    for (const n of f.nodes) {
      if (!claims.has(n.key)) claims.set(n.key, n);
      else {
        const c = claimAt(claims, n.key, n.recs.zone);
        c.names = insertByApp(c.names, n);
      }
      this.mark(env, n.key);
    }
    for (let i = 0; i < f.parents.length; i += PARENT) {
      const key = f.parents[i];
      const c = claimAt(claims, key, f.parents[i + 1]);
      if (c.ents++ === 0) this.mark(env, key);
    }
    for (let i = 0; i < f.ptrs.length; i += PTR) {
      const rev = f.ptrs[i],
        key = f.ptrs[i + 1],
        domain = f.ptrs[i + 2],
        zone = f.ptrs[i + 3];
      const c = claimAt(claims, key, zone);
      if (!c.ptr) c.ptr = new PtrSet(rev, zone);
      const first = c.ptr.size === 0;
      if (c.ptr.add(domain)) this.mark(env, key);
      if (first && zone === rev) this.ownZone(key, zone, 1);
    }
    if (f.skipped.length > 0) {
      this.skippedBy.set(id, f.skipped);
      this.skippedList = null;
    }
  }

  private unclaim(f: Fragment, id: string): void {
    const env = f.env;
    const claims = this.of(env);
    for (const n of f.nodes) {
      const c = claims.get(n.key);
      if (!c) continue;
      // An empty claim in its place, as a Claim left without names: resolution drops it.
      if (c === n) claims.set(n.key, new Claim(n.recs.zone));
      else if (c instanceof Claim) {
        const i = c.names.indexOf(n);
        if (i >= 0) c.names = c.names.length === 1 ? NO_NAMES : removed(c.names, i);
      }
      this.mark(env, n.key);
    }
    for (let i = 0; i < f.parents.length; i += PARENT) {
      const key = f.parents[i];
      const c = claims.get(key);
      if (c instanceof Claim && --c.ents === 0) this.mark(env, key);
    }
    for (let i = 0; i < f.ptrs.length; i += PTR) {
      const rev = f.ptrs[i],
        key = f.ptrs[i + 1],
        domain = f.ptrs[i + 2],
        zone = f.ptrs[i + 3];
      const c = claims.get(key);
      if (!(c instanceof Claim) || !c.ptr) continue;
      if (c.ptr.remove(domain)) this.mark(env, key);
      if (c.ptr.size > 0) continue;
      c.ptr = null;
      if (zone === rev) this.ownZone(key, zone, -1);
    }
    // Only its own entry: `put` claims the replacement before unclaiming this one.
    if (this.skippedBy.get(id) === f.skipped && this.skippedBy.delete(id)) this.skippedList = null;
  }
}

/** A flat string (joined, not a rope): the fragment maps keep it for as long as the app is unchanged. */
function fragmentId(env: string, key: string): string {
  return [env, key].join(' ');
}

/** The Claim of `key`, made (first claimant's zone) or grown from one app's name in place. */
function claimAt(claims: Map<string, Entry>, key: string, zone: string): Claim {
  const e = claims.get(key);
  if (e instanceof Claim) return e;
  const c = new Claim(e ? e.recs.zone : zone);
  if (e) c.names = [e];
  claims.set(key, c);
  return c;
}

/** `names` with `n`, ordered by app id, so merged answers list apps as a full build would. */
function insertByApp(names: readonly FragmentNode[], n: FragmentNode): readonly FragmentNode[] {
  let i = names.length;
  while (i > 0 && names[i - 1].appId > n.appId) i--;
  return inserted(names, i, n);
}
