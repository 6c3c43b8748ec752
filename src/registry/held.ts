/** The held-snapshot state the guard keeps for the API (`GET /v1/registry/status`) and `release()`. */
import type { App } from '../marathon/types';
import type { HoldReason } from './guard';

/** What the API shows about a held (or failed) snapshot. */
export interface HeldStatus {
  reason: HoldReason;
  /** First time this hold was hit, and the latest. */
  since: string;
  lastAt: string;
  /** Consecutive snapshots held (or failed) since. */
  attempts: number;
  current: { services: number; endpoints: number };
  /** What the held snapshot would have published; null for `failed`. */
  proposed: { apps: number; services: number; endpoints: number; removedServices: number } | null;
  error?: string;
}

/** Holds at most one snapshot: the latest one the guard refused. */
export class HeldState {
  private state: HeldStatus | null = null;
  private apps: App[] | null = null;

  hold(reason: HoldReason, now: number, apps: App[], current: HeldStatus['current'], proposed: NonNullable<HeldStatus['proposed']>): HeldStatus {
    this.apps = apps;
    return this.set(reason, now, current, proposed);
  }

  fail(now: number, error: string, current: HeldStatus['current']): HeldStatus {
    // A failed fetch does not replace a held snapshot: the operator may still want to release it.
    if (this.state && this.state.reason !== 'failed') {
      this.state = { ...this.state, lastAt: new Date(now).toISOString(), attempts: this.state.attempts + 1, error };
      return this.state;
    }
    const st = this.set('failed', now, current, null);
    st.error = error;
    return st;
  }

  /** The held apps (consumed), null for a failed hold, undefined when nothing is held. */
  take(): App[] | null | undefined {
    if (!this.state) return undefined;
    const apps = this.apps;
    this.clear();
    return apps;
  }

  clear(): void {
    this.state = null;
    this.apps = null;
  }

  status(): HeldStatus | null {
    return this.state;
  }

  private set(reason: HoldReason, now: number, current: HeldStatus['current'], proposed: HeldStatus['proposed']): HeldStatus {
    const at = new Date(now).toISOString();
    const same = this.state?.reason === reason;
    this.state = {
      reason,
      since: same ? this.state!.since : at,
      lastAt: at,
      attempts: same ? this.state!.attempts + 1 : 1,
      current,
      proposed,
    };
    if (reason === 'failed') this.apps = null;
    return this.state;
  }
}
