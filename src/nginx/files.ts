import { isUtf8 } from 'node:buffer';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { isEnv } from '../rules';
import type { FileBytes } from './plan';
import { inSlices } from '../slices';

// Files berth manages: `<dir>/<env>/http/*.conf` and `<dir>/<env>/stream/*.conf` whose first line
// is berth's header. An operator's own files in the same folders are never touched.
const MANAGED_HEADER = Buffer.from('# berth: ');
// Temp files end in `.tmp`, so an `include …/*.conf` never picks up a half-written one.
const TEMP = /^\..*\.tmp$/;

/**
 * `dir/rel` without `path.join`'s normalising (a few microseconds, for each of tens of thousands of
 * calls at a first run): `rel` is one of berth's own relative paths, with no `.`, `..` or leading slash.
 */
export function under(dir: string, rel: string): string {
  return dir === '' || dir.endsWith('/') ? dir + rel : `${dir}/${rel}`;
}

/** Managed file candidates: `<env>/<kind>/<name>.conf` relative paths. */
function managedCandidates(dir: string): string[] {
  const out: string[] = [];
  for (const env of readdirOrEmpty(dir)) {
    if (!env.isDirectory() || !isEnv(env.name)) continue;
    for (const kind of ['http', 'stream'])
      for (const e of readdirOrEmpty(path.join(dir, env.name, kind)))
        if (e.name.endsWith('.conf') && !e.name.startsWith('.')) out.push(`${env.name}/${kind}/${e.name}`);
  }
  return out;
}

function readdirOrEmpty(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

/** Managed files by relative path, each as `as` makes it of its bytes. Read in slices (see slices.ts): 10,000 files at start. */
async function readManaged<T>(dir: string, as: (bytes: Buffer) => T): Promise<Map<string, T>> {
  const out = new Map<string, T>();
  await inSlices(managedCandidates(dir), (rel) => {
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(under(dir, rel));
    } catch {
      return; // gone (or unreadable) since the listing
    }
    if (bytes.subarray(0, MANAGED_HEADER.length).equals(MANAGED_HEADER)) out.set(rel, as(bytes));
  });
  return out;
}

/** Current managed files: relative path → exact bytes. */
export function readManagedFiles(dir: string): Promise<Map<string, Buffer>> {
  return readManaged(dir, (bytes) => bytes);
}

/**
 * `readManagedFiles`, with each file that is valid UTF-8 as its text, which encodes to exactly its
 * bytes again: the plan then compares it with a rendered file as a string, where comparing bytes
 * encoded every rendered file again, 10,000 of them in one piece after a restart.
 */
export function readManagedTexts(dir: string): Promise<Map<string, FileBytes>> {
  return readManaged(dir, (bytes) => (isUtf8(bytes) ? bytes.toString('utf8') : bytes));
}

// Temp names must not meet a temp file a killed predecessor left (in a container berth is often
// pid 1 after every restart): a random part per process, then a counter, instead of random bytes per file.
const TEMP_TOKEN = randomBytes(4).toString('hex');
let tempCount = 0;

/** A temp name next to `target` that an include glob never matches and that no other write uses. */
export function tempNameFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${TEMP_TOKEN}${(tempCount++).toString(36)}.tmp`);
}

const madeFolders = new Set<string>();

/** Makes `folder` once per process (a full sync at 10,000 services spent a fifth of its system calls on mkdir); `again`: it went away, make it anyway. */
export function ensureFolder(folder: string, again = false): void {
  if (!again && madeFolders.has(folder)) return;
  fs.mkdirSync(folder, { recursive: true });
  madeFolders.add(folder);
}

/** Runs `write`; when the folder is missing (an operator removed it), makes it and runs it again. */
export function inFolder(folder: string, write: () => void): void {
  ensureFolder(folder);
  try {
    write();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    ensureFolder(folder, true);
    write();
  }
}

/** Writes a file by temp file + rename in the same folder: readers see the old or the new bytes, never a mix. */
export function writeFileAtomicSync(dir: string, rel: string, content: string | Buffer): void {
  const target = under(dir, rel);
  const temp = tempNameFor(target);
  try {
    inFolder(path.dirname(target), () => fs.writeFileSync(temp, content));
    fs.renameSync(temp, target);
  } catch (err) {
    fs.rmSync(temp, { force: true });
    throw err;
  }
}

/** `writeFileAtomicSync` for a single file (the candidate conf, tests). */
export async function writeFileAtomic(dir: string, rel: string, content: string | Buffer): Promise<void> {
  writeFileAtomicSync(dir, rel, content);
}

/** Removes a managed file; missing is fine. */
export function removeFileSync(dir: string, rel: string): void {
  try {
    fs.unlinkSync(under(dir, rel));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Deletes temp files left by a process killed mid-write. Returns how many. */
export async function removeStaleTemps(dir: string): Promise<number> {
  let n = 0;
  for (const env of readdirOrEmpty(dir)) {
    if (!env.isDirectory() || !isEnv(env.name)) continue;
    for (const kind of ['http', 'stream']) {
      const sub = path.join(dir, env.name, kind);
      for (const e of readdirOrEmpty(sub)) {
        if (TEMP.test(e.name)) {
          fs.rmSync(path.join(sub, e.name), { force: true });
          n++;
        }
      }
    }
  }
  return n;
}
