import { createHash } from 'node:crypto';
import type { FileBytes } from './plan';

const digest = (bytes: FileBytes) => createHash('sha256').update(bytes).digest('base64');

/**
 * The generation id of a configuration: a short hash of every file berth leaves in place (path and
 * bytes) and of http.conf's own text without the id. Deterministic: the same files in the same
 * order give the same id, after a restart too, so an unchanged configuration never changes
 * http.conf or causes a reload (the caller passes files in a deterministic order: see finalFiles).
 * Per-file digests are kept while the content is the same string (the render memo hands out the
 * same object for an unchanged service), so a run over 20,000 files hashes only what changed.
 */
export class GenerationHasher {
  private readonly cache = new Map<string, { content: string; digest: string }>();

  compute(files: ReadonlyArray<{ path: string; bytes: FileBytes }>, httpConfWithoutId: string): string {
    // One update with the whole list: thousands of small updates cost more than the hashing.
    const parts: string[] = [];
    for (const f of files) {
      let d: string;
      if (typeof f.bytes === 'string') {
        const hit = this.cache.get(f.path);
        if (hit && hit.content === f.bytes) d = hit.digest;
        else this.cache.set(f.path, { content: f.bytes, digest: (d = digest(f.bytes)) });
      } else {
        d = digest(f.bytes);
      }
      parts.push(f.path, '\u0000', d, '\n');
    }
    // Forget files that are gone (only when there are any: most runs have the same paths).
    if (this.cache.size > files.length) {
      const seen = new Set(files.map((f) => f.path));
      for (const path of this.cache.keys()) if (!seen.has(path)) this.cache.delete(path);
    }
    parts.push(httpConfWithoutId);
    return createHash('sha256').update(parts.join('')).digest('hex').slice(0, 16);
  }
}
