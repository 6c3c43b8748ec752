import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { isEnv } from '../rules';

// Files berth manages: `<dir>/<env>/http/*.conf` and `<dir>/<env>/stream/*.conf` whose first line
// is berth's header. An operator's own files in the same folders are never touched.
const MANAGED_HEADER = Buffer.from('# berth: ');
// Temp files end in `.tmp`, so an `include …/*.conf` never picks up a half-written one.
const TEMP = /^\..*\.tmp$/;

// Reading thousands of small files one await at a time is slow; a few reads in flight are not.
const PARALLEL_READS = 32;

/** Current managed files: relative path → exact bytes. */
export async function readManagedFiles(dir: string): Promise<Map<string, Buffer>> {
  const candidates: string[] = [];
  const envs = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const env of envs) {
    if (!env.isDirectory() || !isEnv(env.name)) continue;
    for (const kind of ['http', 'stream']) {
      const names = await fs.readdir(path.join(dir, env.name, kind)).catch(() => [] as string[]);
      for (const name of names) if (name.endsWith('.conf') && !name.startsWith('.')) candidates.push(`${env.name}/${kind}/${name}`);
    }
  }
  const contents = new Array<Buffer | null>(candidates.length);
  let next = 0;
  const worker = async () => {
    while (next < candidates.length) {
      const i = next++;
      contents[i] = await fs.readFile(path.join(dir, candidates[i])).catch(() => null);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_READS, candidates.length) }, worker));
  const out = new Map<string, Buffer>();
  candidates.forEach((rel, i) => {
    const bytes = contents[i];
    if (bytes && bytes.subarray(0, MANAGED_HEADER.length).equals(MANAGED_HEADER)) out.set(rel, bytes);
  });
  return out;
}

const madeFolders = new Set<string>();

/** Writes a file by temp file + rename in the same folder: readers see the old or the new bytes, never a mix. */
export async function writeFileAtomic(dir: string, rel: string, content: string | Buffer): Promise<void> {
  const target = path.join(dir, rel);
  const folder = path.dirname(target);
  // A folder made once is not made again for each of thousands of files (a full sync at 10,000
  // services spent a fifth of its file system calls on mkdir); if it went away, it is made again.
  if (!madeFolders.has(folder)) {
    await fs.mkdir(folder, { recursive: true });
    madeFolders.add(folder);
  }
  const temp = path.join(folder, `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await fs.writeFile(temp, content).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
      await fs.mkdir(folder, { recursive: true });
      await fs.writeFile(temp, content);
    });
    await fs.rename(temp, target);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
}

/** Removes a managed file; missing is fine. */
export async function removeFile(dir: string, rel: string): Promise<void> {
  await fs.rm(path.join(dir, rel), { force: true });
}

/** Deletes temp files left by a process killed mid-write. Returns how many. */
export async function removeStaleTemps(dir: string): Promise<number> {
  let n = 0;
  const envs = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const env of envs) {
    if (!env.isDirectory() || !isEnv(env.name)) continue;
    for (const kind of ['http', 'stream']) {
      const sub = path.join(dir, env.name, kind);
      for (const name of await fs.readdir(sub).catch(() => [] as string[])) {
        if (TEMP.test(name)) {
          await fs.rm(path.join(sub, name), { force: true });
          n++;
        }
      }
    }
  }
  return n;
}
