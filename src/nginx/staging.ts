import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { removeFile, removeStaleTemps, writeFileAtomic } from './files';

// Both live inside BERTH_NGINX_DIR (same file system, so a rename is atomic) under names that start
// with a dot: glob(3), which Nginx's `include` uses, never lets `*` match a leading dot, so an
// operator's `include …/nginx/*/http/*.conf` cannot pick up a staged file or the candidate conf.
export const STAGING_NAME = '.staging';
export const CANDIDATE_CONF_NAME = '.candidate-nginx.conf';

// A few link/rename calls in flight at once instead of one at a time (thousands of files at start).
const PARALLEL = 32;

async function eachLimited<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
}

/**
 * Every entry under `root` that Nginx could read through an include: regular files and symlinks, by
 * relative path. Dot entries are skipped (temp files, the staging tree itself), like `*` does. Depth
 * is bounded: berth's layout is `<file>` or `<env>/<kind>/<file>`.
 */
async function listTree(root: string): Promise<Map<string, { ino: number; link: boolean }>> {
  const out = new Map<string, { ino: number; link: boolean }>();
  const walk = async (rel: string, depth: number): Promise<void> => {
    const entries = await fs.readdir(path.join(root, rel), { withFileTypes: true }).catch(() => []);
    const files: string[] = [];
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (depth < 2) await walk(child, depth + 1);
      } else if (e.isFile() || e.isSymbolicLink()) files.push(child);
    }
    await eachLimited(files, async (f) => {
      const st = await fs.lstat(path.join(root, f)).catch(() => null);
      if (st) out.set(f, { ino: st.ino, link: st.isSymbolicLink() });
    });
  };
  await walk('', 0);
  return out;
}

/**
 * Makes `to/rel` the same file as `from/rel` (a hard link; a copy where links are not possible),
 * atomically through a temp name, or directly when `to/rel` does not exist yet (`fresh`: staging
 * only, which Nginx never reads; a third of the system calls when building 10,000 links).
 */
async function linkInto(from: string, to: string, rel: string, fresh = false): Promise<void> {
  const target = path.join(to, rel);
  const temp = fresh ? target : path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const source = path.join(from, rel);
  const place = async () => {
    if (fresh)
      return fs.link(source, temp).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EPERM' && err.code !== 'EXDEV' && err.code !== 'ENOTSUP') throw err;
        await fs.copyFile(source, temp);
      });
    const st = await fs.lstat(source);
    if (st.isSymbolicLink()) await fs.symlink(await fs.readlink(source), temp);
    else
      await fs.link(source, temp).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EPERM' && err.code !== 'EXDEV' && err.code !== 'ENOTSUP') throw err;
        await fs.copyFile(source, temp);
      });
  };
  try {
    await place().catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
      await fs.mkdir(path.dirname(target), { recursive: true });
      await place();
    });
    if (temp !== target) await fs.rename(temp, target);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
}

/** One file to change, by path relative to the live folder; null content removes it. */
export interface StagedChange {
  path: string;
  content: string | Buffer | null;
}

/**
 * The staging tree `<dir>/.staging`: a mirror of the live folder (hard links, so keeping it costs no
 * copies) where a run's changes are written and tested before anything reaches the live folder.
 * Between runs it equals the live folder; a run that fails puts staging back, one that passes moves
 * the changed files into the live folder by rename.
 */
export class Staging {
  readonly root: string;
  /** True when staging may differ from live (a run was interrupted by an error): rebuilt before use. */
  private dirty = true;

  constructor(readonly liveDir: string) {
    this.root = path.join(liveDir, STAGING_NAME);
  }

  /**
   * Discards whatever a killed predecessor left in staging: every entry that is not the very live
   * file (same inode) is replaced by a link to it or removed, and temp files are deleted. An
   * untouched staging tree costs only lstat calls, where deleting and relinking 10,000 files took
   * seconds.
   */
  async reset(): Promise<number> {
    const temps = await removeStaleTemps(this.root);
    this.dirty = true;
    return temps + (await this.mirror());
  }

  /** Marks staging as possibly different from live (an operator may have edited live): re-mirrored before the next use. */
  invalidate(): void {
    this.dirty = true;
  }

  /**
   * Makes staging equal to live when it may not be: entries that are already the same inode are
   * left alone, so a mirror of an unchanged 10,000-file tree costs two lstat per file. Returns how
   * many entries were (re)linked or removed.
   */
  async mirror(): Promise<number> {
    if (!this.dirty) return 0;
    await fs.mkdir(this.root, { recursive: true });
    const [live, staged] = await Promise.all([listTree(this.liveDir), listTree(this.root)]);
    const relink = [...live].filter(([rel, e]) => e.link || staged.get(rel)?.ino !== e.ino).map(([rel]) => rel);
    const remove = [...staged.keys()].filter((rel) => !live.has(rel));
    await eachLimited(relink, (rel) => linkInto(this.liveDir, this.root, rel, !staged.has(rel) && !live.get(rel)!.link));
    await eachLimited(remove, (rel) => removeFile(this.root, rel));
    this.dirty = false;
    return relink.length + remove.length;
  }

  /** Applies changes to staging only (each file replaced by a new one, never rewritten in place: live shares its inode). */
  async stage(changes: readonly StagedChange[]): Promise<void> {
    this.dirty = true;
    await eachLimited(changes, (c) => (c.content === null ? removeFile(this.root, c.path) : writeFileAtomic(this.root, c.path, c.content)));
  }

  /** Staging is back to what live holds (a failed test was undone). */
  matchesLive(): void {
    this.dirty = false;
  }

  /**
   * Moves tested files into the live folder: each written file is hard-linked next to its live name
   * and renamed over it (atomic per file), each removed file is unlinked. Staging keeps its links,
   * so afterwards both trees hold the same files again.
   */
  async promote(changes: readonly StagedChange[]): Promise<void> {
    this.dirty = true;
    await eachLimited(changes, (c) => (c.content === null ? removeFile(this.liveDir, c.path) : linkInto(this.root, this.liveDir, c.path)));
    this.dirty = false;
  }
}
