import fs from 'node:fs';
import path from 'node:path';
import { ensureFolder, inFolder, removeFileSync, removeStaleTemps, tempNameFor, under } from './files';
import { inSlices } from '../slices';

// Both live inside BERTH_NGINX_DIR (same file system, so a rename is atomic) under names that start
// with a dot: glob(3), which Nginx's `include` uses, never lets `*` match a leading dot, so an
// operator's `include …/nginx/*/http/*.conf` cannot pick up a staged file or the candidate conf.
export const STAGING_NAME = '.staging';
export const CANDIDATE_CONF_NAME = '.candidate-nginx.conf';

/**
 * Every entry under `root` that Nginx could read through an include: regular files and symlinks, by
 * relative path. Dot entries are skipped (temp files, the staging tree itself), like `*` does. Depth
 * is bounded: berth's layout is `<file>` or `<env>/<kind>/<file>`.
 */
async function listTree(root: string): Promise<Map<string, { ino: number; link: boolean }>> {
  const files: string[] = [];
  const walk = (rel: string, depth: number): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(path.join(root, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (depth < 2) walk(child, depth + 1);
      } else if (e.isFile() || e.isSymbolicLink()) files.push(child);
    }
  };
  walk('', 0);
  const out = new Map<string, { ino: number; link: boolean }>();
  await inSlices(files, (f) => {
    const st = fs.lstatSync(under(root, f), { throwIfNoEntry: false });
    if (st) out.set(f, { ino: st.ino, link: st.isSymbolicLink() });
  });
  return out;
}

const NO_LINK = new Set(['EPERM', 'EXDEV', 'ENOTSUP']);

/** A hard link of `source` at `name`, or a copy where the file system has no hard links. */
function linkOrCopy(source: string, name: string): void {
  try {
    fs.linkSync(source, name);
  } catch (err) {
    if (!NO_LINK.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
    fs.copyFileSync(source, name, fs.constants.COPYFILE_EXCL);
  }
}

/**
 * Makes `to/rel` the same file as `from/rel` (a hard link; a copy where links are not possible). A
 * name that does not exist yet is linked directly: a link appears whole, so a reader sees no file or
 * the complete one (10,000 new files at a first run: a temp name and a rename each cost as much
 * again). An existing name is replaced atomically through a temp name and a rename. `regular`: the
 * source is known to be a regular file (one berth staged), so it is not looked at first; otherwise a
 * symlink (an operator's) is recreated as a symlink.
 */
function linkInto(from: string, to: string, rel: string, regular: boolean): void {
  const target = under(to, rel);
  const source = under(from, rel);
  const symlink = regular ? null : fs.lstatSync(source).isSymbolicLink() ? fs.readlinkSync(source) : null;
  const place = (name: string) => (symlink !== null ? fs.symlinkSync(symlink, name) : linkOrCopy(source, name));
  try {
    inFolder(path.dirname(target), () => place(target));
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const temp = tempNameFor(target);
  try {
    place(temp);
    fs.renameSync(temp, target);
  } catch (err) {
    fs.rmSync(temp, { force: true });
    throw err;
  }
}

/**
 * Writes `content` as a new file at `root/rel`, in staging only: an existing entry there is removed
 * first, never written into (live shares its inode). No temp name: staging is read by the test
 * command only, after every write of the run finished, and whatever a crash leaves there is
 * replaced from live at the next start (`reset`).
 */
function writeNew(root: string, rel: string, content: string | Buffer): void {
  const target = under(root, rel);
  const create = () => {
    const fd = fs.openSync(target, 'wx'); // EEXIST, ENOENT: nothing was created
    try {
      fs.writeFileSync(fd, content);
    } catch (err) {
      fs.rmSync(target, { force: true }); // a disk that filled up leaves no truncated file behind
      throw err;
    } finally {
      fs.closeSync(fd);
    }
  };
  try {
    inFolder(path.dirname(target), create);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    fs.unlinkSync(target);
    create();
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
    ensureFolder(this.root, true);
    const [live, staged] = await Promise.all([listTree(this.liveDir), listTree(this.root)]);
    const relink = [...live].filter(([rel, e]) => e.link || staged.get(rel)?.ino !== e.ino).map(([rel]) => rel);
    const remove = [...staged.keys()].filter((rel) => !live.has(rel));
    await inSlices(relink, (rel) => linkInto(this.liveDir, this.root, rel, !live.get(rel)!.link));
    await inSlices(remove, (rel) => removeFileSync(this.root, rel));
    this.dirty = false;
    return relink.length + remove.length;
  }

  /** Applies changes to staging only (each file replaced by a new one, never rewritten in place: live shares its inode). */
  async stage(changes: readonly StagedChange[]): Promise<void> {
    this.dirty = true;
    await inSlices(changes, (c) => (c.content === null ? removeFileSync(this.root, c.path) : writeNew(this.root, c.path, c.content)));
  }

  /** Staging is back to what live holds (a failed test was undone). */
  matchesLive(): void {
    this.dirty = false;
  }

  /**
   * Moves tested files into the live folder: each written file is hard-linked to its live name when
   * there is none yet, otherwise next to it and renamed over it (atomic per file either way), each
   * removed file is unlinked. Staging keeps its links, so afterwards both trees hold the same files again.
   */
  async promote(changes: readonly StagedChange[]): Promise<void> {
    this.dirty = true;
    await inSlices(changes, (c) => (c.content === null ? removeFileSync(this.liveDir, c.path) : linkInto(this.root, this.liveDir, c.path, true)));
    this.dirty = false;
  }
}
