import type { Clock } from '../clock';
import { readManagedFiles } from './files';
import type { FileChange } from './plan';

const REREAD_MS = 60_000;

/**
 * The managed files as berth last left them. Re-reading 10,000 files every run costs more than
 * rendering them, so the disk is read on start, after any failure, and at least every minute
 * (which also notices hand edits); in between berth trusts what it wrote.
 */
export class DiskState {
  private cached: { files: Map<string, Buffer>; readAt: number } | null = null;

  constructor(
    private readonly dir: string,
    private readonly clock: Clock,
  ) {}

  async current(): Promise<ReadonlyMap<string, Buffer>> {
    if (this.cached && this.clock.now() - this.cached.readAt < REREAD_MS) return this.cached.files;
    const files = await readManagedFiles(this.dir);
    this.cached = { files, readAt: this.clock.now() };
    return files;
  }

  /** Records changes that are now on disk. */
  written(changes: readonly FileChange[]): void {
    if (!this.cached) return;
    for (const c of changes) {
      if (c.content === null) this.cached.files.delete(c.path);
      else this.cached.files.set(c.path, Buffer.from(c.content));
    }
  }

  /** Disk state is uncertain (a failed or interrupted apply): read it again next time. */
  forget(): void {
    this.cached = null;
  }
}
