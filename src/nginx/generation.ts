import { createHash } from 'node:crypto';
import type { FileBytes } from './plan';

const digest = (bytes: FileBytes) => createHash('sha256').update(bytes).digest('base64');

/**
 * The generation id of a configuration: a short hash of every file berth leaves in place (path and
 * bytes) and of http.conf's own text without the id. Deterministic: the same files give the same
 * id after a restart too, so an unchanged configuration never changes http.conf or causes a reload.
 * Per-file digests are kept while the content is the same string (the render memo hands out the
 * same object for an unchanged service), so a run over 20,000 files hashes only what changed.
 */
export class GenerationHasher {
  private readonly cache = new Map<string, { content: string; digest: string }>();

  compute(files: ReadonlyArray<{ path: string; bytes: FileBytes }>, httpConfWithoutId: string): string {
    const seen = new Set<string>();
    const entries: string[] = [];
    for (const f of files) {
      seen.add(f.path);
      let d: string;
      if (typeof f.bytes === 'string') {
        const hit = this.cache.get(f.path);
        if (hit && hit.content === f.bytes) d = hit.digest;
        else this.cache.set(f.path, { content: f.bytes, digest: (d = digest(f.bytes)) });
      } else {
        d = digest(f.bytes);
      }
      entries.push(`${f.path}\u0000${d}`);
    }
    for (const path of this.cache.keys()) if (!seen.has(path)) this.cache.delete(path);
    entries.sort();
    const h = createHash('sha256');
    for (const e of entries) h.update(e).update('\n');
    h.update(httpConfWithoutId);
    return h.digest('hex').slice(0, 16);
  }
}
