import { createHash } from 'node:crypto';
import type { FileBytes } from './plan';

const MOD = 256;

/**
 * One file's share of the generation: its path and bytes hashed, as a number to add. The text goes
 * in as it is, not joined to the path: hashing flattens a rendered file's content (header + template
 * output) in place, so the plan's comparisons and the file writes that follow find it flat.
 */
const share = (path: string, bytes: FileBytes): bigint => BigInt(`0x${createHash('sha256').update(path).update('\u0000').update(bytes).digest('hex')}`);

/**
 * The generation id of a configuration: a short hash of every file berth leaves in place (path and
 * bytes) and of http.conf's own text without the id. Deterministic: the same files give the same
 * id, after a restart too, so an unchanged configuration never changes http.conf or causes a
 * reload. The files are combined as a sum of per-file hashes (modulo 2^256), which does not depend
 * on their order and is kept from run to run: a file whose content is the same string as last
 * time costs a map lookup, a changed one a hash and two additions, so a run over 10,000 files
 * hashes only what changed.
 */
export class GenerationHasher {
  private readonly cache = new Map<string, { content: FileBytes; share: bigint; seen: number }>();
  private sum = 0n;
  private run = 0;

  /**
   * Hashes the files `compute` would hash, a few milliseconds at a time with the event loop free
   * in between (a first run hashes every file: 10,000 of them took over half a second in one go).
   */
  async prepare(files: ReadonlyArray<{ path: string; bytes: FileBytes }>, pause: () => Promise<void>, sliceMs: number): Promise<void> {
    let slice = performance.now();
    for (let i = 0; i < files.length; i++) {
      const f = files[i];
      const hit = this.cache.get(f.path);
      if (hit && hit.content === f.bytes) continue;
      const s = share(f.path, f.bytes);
      this.sum += s - (hit?.share ?? 0n);
      // Seen in the last run as far as `compute` is concerned: it counts it, or forgets it if it is not listed.
      this.cache.set(f.path, { content: f.bytes, share: s, seen: this.run });
      if ((i & 15) === 15 && performance.now() - slice > sliceMs) {
        await pause();
        slice = performance.now();
      }
    }
  }

  compute(files: ReadonlyArray<{ path: string; bytes: FileBytes }>, httpConfWithoutId: string): string {
    const run = ++this.run;
    let count = 0;
    for (const f of files) {
      const hit = this.cache.get(f.path);
      if (hit && hit.seen === run) continue; // a path listed twice counts once
      count++;
      if (hit && hit.content === f.bytes) {
        hit.seen = run;
        continue;
      }
      const s = share(f.path, f.bytes);
      this.sum += s - (hit?.share ?? 0n);
      this.cache.set(f.path, { content: f.bytes, share: s, seen: run });
    }
    // Forget files that are gone (only when there are any: most runs have the same paths).
    if (this.cache.size > count)
      for (const [path, e] of this.cache)
        if (e.seen !== run) {
          this.sum -= e.share;
          this.cache.delete(path);
        }
    this.sum = BigInt.asUintN(MOD, this.sum);
    return createHash('sha256')
      .update(`${this.sum.toString(16)}\u0000${count}\u0000`)
      .update(httpConfWithoutId)
      .digest('hex')
      .slice(0, 16);
  }
}
