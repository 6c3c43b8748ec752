import type { FileChange } from './plan';
import type { RenderedFile, RenderRejection } from './rendered-file';

/** A quarantined service as `GET /v1/sync/status` and the problem show it. */
export interface ExcludedService {
  env: string;
  appId: string;
  path: string;
  /** How many times in a row the test (confirmed by a second run) rejected this definition. */
  failures: number;
  /** When its change is tried again even if the definition stays the same (ISO time). */
  retryAt: string;
}

/**
 * Services `nginx -t` rejected (quarantine): their previous file stays on disk (or stays absent)
 * while every other service keeps shipping. A quarantined change is tried again after one sync
 * interval, then after doubling gaps up to `maxMs` while it keeps failing, and at once when its
 * definition changes or it disappears. A change that passes leaves quarantine.
 */
export class Exclusions {
  /** path → offender; `definitionKey` null when the rejected change was a removal. */
  private readonly byPath = new Map<string, { env: string; appId: string; definitionKey: string | null; failures: number; retryAt: number }>();

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
  ) {}

  add(offenders: readonly FileChange[], now: number): void {
    for (const o of offenders) {
      const prev = this.byPath.get(o.path);
      const failures = prev && prev.definitionKey === o.definitionKey ? prev.failures + 1 : 1;
      const gap = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(failures - 1, 30));
      this.byPath.set(o.path, { env: o.env, appId: o.appId, definitionKey: o.definitionKey, failures, retryAt: now + gap });
    }
  }

  /** Changes that are now live: whatever of them was quarantined passed the test. */
  passed(changes: ReadonlyArray<{ path: string }>): void {
    for (const c of changes) this.byPath.delete(c.path);
  }

  /**
   * Drops offenders whose definition changed (or which are gone) and returns the paths to leave
   * as they are: offenders whose retry is not due yet, plus services that could not be rendered.
   */
  keepPaths(files: readonly RenderedFile[], rejected: readonly RenderRejection[], now: number): Set<string> {
    // Nothing quarantined (the usual case): no index of every file.
    const byPath = this.byPath.size > 0 ? new Map(files.map((f) => [f.path, f])) : new Map<string, RenderedFile>();
    const keep = new Set<string>();
    for (const [path, e] of this.byPath) {
      const current = byPath.get(path);
      const same = current ? current.definitionKey === e.definitionKey : e.definitionKey === null;
      if (!same)
        this.byPath.delete(path); // changed or gone: give it another chance at once
      else if (now < e.retryAt) keep.add(path);
    }
    for (const r of rejected) if (r.path) keep.add(r.path);
    return keep;
  }

  /**
   * After planning: a quarantined service that is neither kept nor part of the plan needs no retry
   * (what is on disk already matches its rendering), so it leaves quarantine.
   */
  settle(planned: ReadonlySet<string>, kept: ReadonlySet<string>): void {
    for (const path of this.byPath.keys()) if (!kept.has(path) && !planned.has(path)) this.byPath.delete(path);
  }

  /** The earliest time a quarantined change is due for a retry (null: none quarantined). */
  nextRetryAt(): number | null {
    let next: number | null = null;
    for (const e of this.byPath.values()) if (next === null || e.retryAt < next) next = e.retryAt;
    return next;
  }

  get size(): number {
    return this.byPath.size;
  }

  list(): ExcludedService[] {
    return [...this.byPath].map(([path, e]) => ({ env: e.env, appId: e.appId, path, failures: e.failures, retryAt: new Date(e.retryAt).toISOString() }));
  }
}
