/**
 * Database isolation for registry writes: one app whose data the database refuses (a NUL byte, a
 * lone surrogate, anything PostgreSQL rejects as data) must not fail the write of every other app.
 * A write set is tried whole first (the fast path: one transaction); when the database refuses it
 * as data, it is split by app and the halves are written separately, down to the single apps that
 * fail. About 2·log2(n) extra transactions for one bad app among n.
 */
import { PROBLEM_CODES } from '../model/problems';
import type { StoredProblem, WriteSet } from './store';

/** The parts of a write set that concern one app (`appId` null: the `loaded` journal row). */
export interface AppPart {
  appId: string | null;
  write: WriteSet;
}

/** What a write set became: the last journal position written and the apps refused, with why. */
export interface IsolatedResult {
  position: number | null;
  failed: Map<string, Error>;
}

/**
 * True for errors about the data itself (SQLSTATE classes 22 "data exception" and 23 "integrity
 * constraint violation"), which retrying without the offending app cures. Connection loss, a
 * refused fence or a missing table fail every part alike: those are not isolated.
 */
export function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code);
}

/** Split a write set into one part per app id (and one for the `loaded` row). */
export function splitByApp(w: WriteSet): AppPart[] {
  const parts = new Map<string, WriteSet>();
  const part = (id: string): WriteSet => {
    let p = parts.get(id);
    if (!p) parts.set(id, (p = { upserts: [], removals: [], raise: [], clear: [], markLoaded: false }));
    return p;
  };
  for (const u of w.upserts) part(u.service.appId).upserts.push(u);
  for (const r of w.removals) part(r.appId).removals.push(r);
  for (const p of w.raise) part(p.appId).raise.push(p);
  for (const c of w.clear) part(c.appId).clear.push(c);
  const out: AppPart[] = [...parts].map(([appId, write]) => ({ appId, write }));
  if (w.markLoaded) out.unshift({ appId: null, write: { upserts: [], removals: [], raise: [], clear: [], markLoaded: true } });
  return out;
}

function merge(parts: readonly AppPart[]): WriteSet {
  const w: WriteSet = { upserts: [], removals: [], raise: [], clear: [], markLoaded: false };
  for (const { write: p } of parts) {
    w.upserts.push(...p.upserts);
    w.removals.push(...p.removals);
    w.raise.push(...p.raise);
    w.clear.push(...p.clear);
    w.markLoaded ||= p.markLoaded;
  }
  return w;
}

/**
 * Write `w`; when the database refuses it as data, bisect by app and write what it accepts.
 * Errors that are not about data (and a refused `loaded` row) propagate as before.
 */
export async function writeIsolated(w: WriteSet, write: (w: WriteSet) => Promise<number | null>): Promise<IsolatedResult> {
  const failed = new Map<string, Error>();
  let position: number | null = null;
  // `given` null: the whole write set, split by app only once the database refused it (splitting
  // a 10,000-app snapshot up front cost ~15 ms for a write that nearly always succeeds whole).
  const attempt = async (given: readonly AppPart[] | null, whole: WriteSet): Promise<void> => {
    try {
      const p = await write(whole);
      if (p !== null) position = Math.max(position ?? 0, p);
    } catch (err) {
      if (!isDataError(err)) throw err;
      const parts = given ?? splitByApp(whole);
      if (parts.length === 1) {
        if (parts[0].appId === null) throw err;
        failed.set(parts[0].appId, err as Error);
        return;
      }
      const half = parts.length >> 1;
      for (const side of [parts.slice(0, half), parts.slice(half)]) await attempt(side, merge(side));
    }
  };
  await attempt(null, w);
  return { position, failed };
}

/**
 * Text the database stores whatever it holds: NUL and lone surrogates (which PostgreSQL text and
 * jsonb refuse) are shown as `\u0000`-style escapes. Well-formed text without NUL is unchanged.
 */
export function safeText(s: string): string {
  // eslint-disable-next-line no-control-regex
  if (!/[\u0000\ud800-\udfff]/.test(s)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
    if (c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      out += s[i] + s[i + 1];
      i++;
    } else if (c === 0 || (c >= 0xd800 && c <= 0xdfff)) {
      out += `\\u${c.toString(16).padStart(4, '0')}`;
    } else {
      out += s[i];
    }
  }
  return out;
}

/** The problem the registry stores for an app whose write the database refused; every text field made safe. */
export function writeFailedProblem(appId: string, err: Error, since: string): StoredProblem {
  const reason = safeText(String(err.message ?? err).slice(0, 300));
  return {
    code: PROBLEM_CODES.REGISTRY_WRITE_FAILED,
    appId: safeText(appId),
    env: null,
    message: `the database refused this app's data; its previous state is kept: ${reason}`,
    details: { sqlstate: safeText(String((err as { code?: unknown }).code ?? '')) },
    source: 'registry',
    since,
  };
}
