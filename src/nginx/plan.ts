import { serversInFile, type RenderedFile } from './rendered-file';

/**
 * A managed file's content on disk: the bytes read from it, or the very text berth wrote there
 * (kept as that string, which the render memo shares, instead of a second copy as a Buffer: at
 * 20,000 services that copy was ~25 MB of resident memory).
 */
export type FileBytes = Buffer | string;

/** One file to change on disk, with what was there before (null = absent) for restoring. */
export interface FileChange {
  path: string;
  env: string;
  appId: string;
  /** New bytes, or null to remove the file. */
  content: string | null;
  before: FileBytes | null;
  serversBefore: number;
  serversAfter: number;
  /** For writes: the service definition key (retry of a rejected service when it changes). */
  definitionKey: string | null;
}

export interface SyncPlan {
  changes: FileChange[];
  /** Managed files on disk before the sync, and upstream servers in them. */
  filesBefore: number;
  serversBefore: number;
  serversAfter: number;
  /** Upstream servers that would go away (per file: fewer servers than before, or the file removed). */
  serversRemoved: number;
}

/**
 * What berth knows about the files on disk without decoding them again (see DiskState): the text
 * it wrote there (undefined: unknown, compare bytes) and each file's upstream server count.
 */
export interface DiskKnowledge {
  text(path: string): string | undefined;
  servers(path: string, bytes: FileBytes): number;
}

export const serversInHeader = (bytes: FileBytes): number =>
  serversInFile(typeof bytes === 'string' ? bytes.slice(0, 400) : bytes.toString('utf8', 0, Math.min(bytes.length, 400)));

/** `<env>/<kind>/<file>` → env and a readable app id for reporting removals (from the header). */
function describeRemoved(path: string, before: FileBytes): { env: string; appId: string } {
  const m = /^# berth: (\S+) in /.exec(typeof before === 'string' ? before.slice(0, 300) : before.subarray(0, 300).toString('utf8'));
  return { env: path.split('/')[0], appId: m ? m[1] : path };
}

const sameContent = (before: FileBytes, content: string): boolean => (typeof before === 'string' ? before === content : before.equals(Buffer.from(content)));

/**
 * Compares rendered files with disk. `keep` holds paths whose disk bytes stay as they are
 * (a service that could not be rendered or was rejected by `nginx -t`: its last good file remains).
 */
export function planSync(desired: readonly RenderedFile[], disk: ReadonlyMap<string, FileBytes>, keep: ReadonlySet<string>, known?: DiskKnowledge): SyncPlan {
  const changes: FileChange[] = [];
  // Disk files the rendering has too; when that is all of them nothing is removed, and no set of every path is built.
  let matched = 0;
  const servers = (path: string, bytes: FileBytes) => known?.servers(path, bytes) ?? serversInHeader(bytes);
  let serversBefore = 0;
  for (const [path, bytes] of disk) serversBefore += servers(path, bytes);
  for (const f of desired) {
    const before = disk.get(f.path) ?? null;
    if (before) matched++;
    if (keep.has(f.path)) continue;
    const text = known?.text(f.path);
    if (before && (text !== undefined ? text === f.content : sameContent(before, f.content))) continue;
    const sb = before ? servers(f.path, before) : 0;
    changes.push({
      path: f.path,
      env: f.env,
      appId: f.appId,
      content: f.content,
      before,
      serversBefore: sb,
      serversAfter: f.servers,
      definitionKey: f.definitionKey,
    });
  }
  const wanted = matched < disk.size ? new Set(desired.map((f) => f.path)) : null;
  for (const [path, before] of wanted ? disk : []) {
    if (wanted!.has(path) || keep.has(path)) continue;
    const sb = servers(path, before);
    changes.push({ path, ...describeRemoved(path, before), content: null, before, serversBefore: sb, serversAfter: 0, definitionKey: null });
  }
  changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  let serversRemoved = 0;
  let delta = 0;
  for (const c of changes) {
    serversRemoved += Math.max(0, c.serversBefore - c.serversAfter);
    delta += c.serversAfter - c.serversBefore;
  }
  return { changes, filesBefore: disk.size, serversBefore, serversAfter: serversBefore + delta, serversRemoved };
}

/**
 * The mass-removal guard (docs/nginx.md "The removal guard"): a reason to hold the sync, or null. Holds when the view was
 * never loaded, when every file or every upstream server would go, or when more than `maxRatio`
 * of the upstream servers would be removed.
 */
export function guardReason(plan: SyncPlan, loaded: boolean, maxRatio: number): string | null {
  if (!loaded) return 'registry not loaded yet: refusing to render from an empty catalog';
  const removedFiles = plan.changes.filter((c) => c.content === null).length;
  const addedFiles = plan.changes.filter((c) => c.content !== null && c.before === null).length;
  if (plan.filesBefore > 0 && removedFiles === plan.filesBefore && addedFiles === 0) {
    return `would remove all ${plan.filesBefore} service files`;
  }
  if (plan.serversBefore > 0 && plan.serversAfter === 0) {
    return `would remove all ${plan.serversBefore} upstream servers`;
  }
  if (plan.serversBefore > 0 && plan.serversRemoved / plan.serversBefore > maxRatio) {
    const pct = Math.round((100 * plan.serversRemoved) / plan.serversBefore);
    return `would remove ${plan.serversRemoved} of ${plan.serversBefore} upstream servers (${pct}% > ${Math.round(maxRatio * 100)}%)`;
  }
  return null;
}
