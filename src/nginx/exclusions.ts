import type { FileChange } from './plan';
import type { RenderedFile, RenderRejection } from './render';

/**
 * Services `nginx -t` rejected: their previous file stays on disk (or stays absent) until their
 * definition changes or they disappear, so every other service keeps shipping.
 */
export class Exclusions {
  /** path → offender; `definitionKey` null when the rejected change was a removal. */
  private readonly byPath = new Map<string, { env: string; appId: string; definitionKey: string | null }>();

  add(offenders: readonly FileChange[]): void {
    for (const o of offenders) this.byPath.set(o.path, { env: o.env, appId: o.appId, definitionKey: o.definitionKey });
  }

  /**
   * Drops offenders whose definition changed (or which are gone) and returns the paths to leave
   * as they are: remaining offenders plus services that could not be rendered at all.
   */
  keepPaths(files: readonly RenderedFile[], rejected: readonly RenderRejection[]): Set<string> {
    const byPath = new Map(files.map((f) => [f.path, f]));
    for (const [path, e] of this.byPath) {
      const now = byPath.get(path);
      const same = now ? now.definitionKey === e.definitionKey : e.definitionKey === null;
      if (!same) this.byPath.delete(path); // changed or gone: give it another chance
    }
    const keep = new Set(this.byPath.keys());
    for (const r of rejected) if (r.path) keep.add(r.path);
    return keep;
  }

  get size(): number {
    return this.byPath.size;
  }

  list(): Array<{ env: string; appId: string; path: string }> {
    return [...this.byPath].map(([path, e]) => ({ env: e.env, appId: e.appId, path }));
  }
}
