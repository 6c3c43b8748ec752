import type { Clock } from '../clock';
import { readManagedTexts } from './files';
import { serversInHeader, type DiskKnowledge, type FileBytes, type FileChange } from './plan';

const REREAD_MS = 60_000;

/**
 * The managed files as berth last left them. Re-reading 10,000 files every run costs more than
 * rendering them, so the disk is read on start, after any failure, and at least every minute
 * (which also notices hand edits); in between berth trusts what it wrote.
 */
export class DiskState implements DiskKnowledge {
  private cached: { files: Map<string, FileBytes>; readAt: number } | null = null;
  // What berth wrote, as the very strings the render memo hands out (so an unchanged file compares
  // by pointer instead of being encoded again), and server counts, so that a run over 10,000
  // files allocates next to nothing for the ones that did not change.
  private readonly texts = new Map<string, string>();
  private readonly counts = new Map<string, number>();
  /** How many times the folder was read (a change tells the staging mirror to look at live again). */
  reads = 0;

  constructor(
    private readonly dir: string,
    private readonly clock: Clock,
  ) {}

  async current(): Promise<ReadonlyMap<string, FileBytes>> {
    if (this.cached && this.clock.now() - this.cached.readAt < REREAD_MS) return this.cached.files;
    const files = await readManagedTexts(this.dir);
    this.reads++;
    this.cached = { files, readAt: this.clock.now() };
    this.texts.clear();
    this.counts.clear();
    return files;
  }

  text(path: string): string | undefined {
    return this.texts.get(path);
  }

  servers(path: string, bytes: FileBytes): number {
    let n = this.counts.get(path);
    if (n === undefined) this.counts.set(path, (n = serversInHeader(bytes)));
    return n;
  }

  /** Records changes that are now on disk. */
  written(changes: readonly FileChange[]): void {
    if (!this.cached) return;
    for (const c of changes) {
      this.counts.delete(c.path);
      if (c.content === null) {
        this.cached.files.delete(c.path);
        this.texts.delete(c.path);
      } else {
        this.cached.files.set(c.path, c.content); // the text itself, not a Buffer copy (see FileBytes)
        this.texts.set(c.path, c.content);
      }
    }
  }

  /** Disk state is uncertain (a failed or interrupted apply): read it again next time. */
  forget(): void {
    this.cached = null;
    this.texts.clear();
    this.counts.clear();
  }
}
