import type { Logger } from '../log';
import { findOffenders } from './bisect';
import type { CommandResult, NginxControl, TestTarget } from './command';
import { removeFileSync, writeFileAtomicSync } from './files';
import type { FileChange } from './plan';
import { inSlices } from '../slices';
import type { Staging, StagedChange } from './staging';

export interface ApplyOutcome {
  status: 'applied' | 'failed';
  stage: 'write' | 'test' | 'reload' | null;
  filesWritten: number;
  filesRemoved: number;
  reloaded: boolean;
  /** Output of the failing command. */
  output: string | null;
  error: string | null;
  /** Changes `nginx -t` rejected (empty when the test passed or the culprit is outside berth's files). */
  offenders: FileChange[];
  /** The live folder was rebuilt from the complete desired set (see `recover`): what berth knows of it is stale. */
  rebuilt: boolean;
  /** The first test failed and its confirmation passed: shipped anyway, worth a log line. */
  flaky: boolean;
  /** The base files (see `BaseFile`) were made live. */
  baseLive: boolean;
}

/**
 * Where changes go to be tested. In place: the live folder itself (the test command reads what the
 * live nginx.conf includes; not crash-safe). Staged: the staging tree, tested through the candidate,
 * and moved into the live folder only after the test passed.
 */
export interface Workspace {
  readonly target: TestTarget | undefined;
  put(changes: readonly StagedChange[]): Promise<void>;
  /** The test passed: make `changes` live. */
  commit(changes: readonly StagedChange[]): Promise<void>;
  /** Every change was taken back: the workspace equals live again. */
  restored(): void;
  /** What the complete desired set is, for rebuilding from scratch when the live files fail on their own (staged only). */
  readonly recover?: () => { desired: FileChange[]; live: string[] };
}

/**
 * A file of berth's own that goes with the service files (http.conf): written first, part of the
 * base every subset is tested on, made live with whatever ships, put back when nothing does. It is
 * never a service, so never an offender.
 */
export interface BaseFile {
  path: string;
  content: string | null;
  before: string | null;
}

const forward = (changes: readonly (FileChange | BaseFile)[]): StagedChange[] => changes.map((c) => ({ path: c.path, content: c.content }));
const backward = (changes: readonly (FileChange | BaseFile)[]): StagedChange[] => changes.map((c) => ({ path: c.path, content: c.before }));

export function inPlaceWorkspace(dir: string): Workspace {
  const put = (changes: readonly StagedChange[]) =>
    inSlices(changes, (c) => (c.content === null ? removeFileSync(dir, c.path) : writeFileAtomicSync(dir, c.path, c.content)));
  return { target: undefined, put, commit: async () => undefined, restored: () => undefined };
}

export function stagedWorkspace(staging: Staging, conf: string | null, recover: Workspace['recover']): Workspace {
  return {
    target: { dir: staging.root, conf },
    put: (changes) => staging.stage(changes),
    commit: (changes) => staging.promote(changes),
    restored: () => staging.matchesLive(),
    recover,
  };
}

function describe(r: CommandResult): string {
  if (r.timedOut) return `timed out after ${r.durationMs} ms`;
  return r.signal ? `killed by ${r.signal}` : `exit code ${r.code}`;
}

/**
 * Runs the test; a failure is run once more before anyone acts on it (a test can fail for reasons
 * that pass: a resolver hiccup, a file briefly unreadable). Returns the first failure, or null
 * when either run passed. A timeout is not repeated: it says nothing about the files.
 */
async function confirmedFailure(control: NginxControl, target: TestTarget | undefined): Promise<{ failed: CommandResult | null; flaky: boolean }> {
  const first = await control.test(target);
  if (first.ok) return { failed: null, flaky: false };
  if (first.timedOut) return { failed: first, flaky: false };
  const again = await control.test(target);
  return again.ok ? { failed: null, flaky: true } : { failed: first, flaky: false };
}

/**
 * Puts the changes into the workspace, runs the test command (a failure is confirmed by a second
 * run), makes them live and runs the reload command. When the test fails every file is put back,
 * no reload happens, and the offending changes are searched by testing subsets on top of the
 * previous files in the same workspace (put back again afterwards). `base` files are written before
 * the changes and stay in place during the search (see `BaseFile`).
 */
export async function applyChanges(
  changes: readonly FileChange[],
  ws: Workspace,
  control: NginxControl,
  logger: Logger,
  forceReload = false,
  base: readonly BaseFile[] = [],
  rebase: (offenders: readonly FileChange[]) => readonly BaseFile[] = () => base,
): Promise<ApplyOutcome> {
  const outcome: ApplyOutcome = {
    status: 'failed',
    stage: null,
    filesWritten: 0,
    filesRemoved: 0,
    reloaded: false,
    output: null,
    error: null,
    offenders: [],
    rebuilt: false,
    flaky: false,
    baseLive: false,
  };
  try {
    await ws.put(forward([...base, ...changes]));
  } catch (err) {
    await ws.put(backward([...changes, ...base]));
    ws.restored();
    return { ...outcome, stage: 'write', error: `writing files failed: ${(err as Error).message}` };
  }

  const { failed, flaky } = await confirmedFailure(control, ws.target);
  outcome.flaky = flaky;
  if (failed) {
    outcome.stage = 'test';
    outcome.output = failed.output;
    outcome.error = `test command failed twice (${describe(failed)})`;
    if (failed.timedOut) {
      await putBack(ws, [...changes, ...base]);
      outcome.error = `test command failed (${describe(failed)})`;
      return outcome; // a hung test says nothing about which file is bad
    }
    await ws.put(backward(changes)); // the base stays: every subset is tested on it
    if ((await confirmedFailure(control, ws.target)).failed) {
      if (ws.recover) return recover(ws, ws.recover(), base, control, logger, outcome);
      await putBack(ws, base);
      outcome.error += "; it fails without berth's changes too, so the culprit is outside the generated files";
      return outcome;
    }
    outcome.offenders = await findOffenders(changes, async (subset) => {
      await ws.put(forward(subset));
      try {
        return !(await confirmedFailure(control, ws.target)).failed;
      } finally {
        await ws.put(backward(subset));
      }
    });
    logger.warn({ offenders: outcome.offenders.map((o) => `${o.env} ${o.appId}`) }, 'nginx test rejected services; their previous files are kept');
    return shipRest(changes, base, rebase(outcome.offenders), ws, control, outcome, forceReload);
  }
  try {
    await ws.commit(forward([...base, ...changes]));
  } catch (err) {
    return { ...outcome, stage: 'write', error: `moving tested files into place failed: ${(err as Error).message}` };
  }
  outcome.baseLive = true;
  outcome.filesWritten = changes.filter((c) => c.content !== null).length;
  outcome.filesRemoved = changes.length - outcome.filesWritten;
  return reload(control, outcome);
}

/** Nothing of this run ships: the workspace is put back to live. */
async function putBack(ws: Workspace, files: readonly (FileChange | BaseFile)[]): Promise<void> {
  await ws.put(backward(files));
  ws.restored();
}

/**
 * After the offenders were found: every other change is tested once more without them and, when
 * it passes, made live in this same run (a rejected service never holds the others back). With
 * nothing else to ship the run is done (reloading only when asked to, e.g. the first run after a
 * restart).
 */
async function shipRest(
  changes: readonly FileChange[],
  base: readonly BaseFile[],
  rebased: readonly BaseFile[],
  ws: Workspace,
  control: NginxControl,
  outcome: ApplyOutcome,
  forceReload: boolean,
): Promise<ApplyOutcome> {
  const rest = changes.filter((c) => !outcome.offenders.includes(c));
  if (outcome.offenders.length === 0) {
    await putBack(ws, base);
    return outcome;
  }
  const shipped = { ...outcome, stage: null, output: outcome.output, error: null };
  // The base as it is without the offenders (http.conf's generation covers what ships, not them).
  const kept = new Set(rebased.map((b) => b.path));
  await ws.put(backward(base.filter((b) => !kept.has(b.path))));
  if (rest.length === 0 && rebased.length === 0) {
    ws.restored();
    return forceReload ? reload(control, shipped) : { ...shipped, status: 'applied' };
  }
  try {
    await ws.put(forward([...rebased, ...rest]));
    const check = await confirmedFailure(control, ws.target);
    if (check.failed) {
      await putBack(ws, [...rest, ...rebased]);
      return { ...outcome, error: `${outcome.error}; the other changes failed without the offenders too (retried next run)` };
    }
    await ws.commit(forward([...rebased, ...rest]));
  } catch (err) {
    return { ...outcome, stage: 'write', error: `writing files failed: ${(err as Error).message}` };
  }
  const written = rest.filter((c) => c.content !== null).length;
  return reload(control, { ...shipped, baseLive: true, filesWritten: written, filesRemoved: rest.length - written });
}

async function reload(control: NginxControl, outcome: ApplyOutcome): Promise<ApplyOutcome> {
  const result = await control.reload();
  if (!result.ok) {
    // The files passed the test and stay; the next sync retries the reload.
    return { ...outcome, stage: 'reload', output: result.output, error: `reload command failed (${describe(result)})` };
  }
  return { ...outcome, status: 'applied', stage: null, reloaded: !result.skipped };
}

/**
 * The live files fail the test on their own (left by an older berth killed mid-test, or edited by
 * hand). If the configuration passes with none of berth's files, the culprit is among them: the
 * complete desired set is searched from an empty base, and everything but the offenders is tested
 * once more and made live in this run (the offenders' files are removed), so the sync converges
 * instead of failing on the same files forever.
 */
async function recover(
  ws: Workspace,
  set: { desired: FileChange[]; live: string[] },
  base: readonly BaseFile[],
  control: NginxControl,
  logger: Logger,
  outcome: ApplyOutcome,
): Promise<ApplyOutcome> {
  const empty = set.live.map((p) => ({ path: p, content: null }));
  await ws.put(empty);
  if ((await confirmedFailure(control, ws.target)).failed) {
    outcome.error += "; it fails without any of berth's files too, so the culprit is outside the generated files";
    await ws.put(backward(base));
    return outcome; // staging stays marked as differing from live: it is mirrored again before the next run
  }
  logger.warn({ files: set.live.length }, "nginx test fails on the live files alone but passes without berth's files: searching the complete set");
  const offenders = await findOffenders(set.desired, async (subset) => {
    await ws.put(forward(subset));
    try {
      return !(await confirmedFailure(control, ws.target)).failed;
    } finally {
      await ws.put(subset.map((c) => ({ path: c.path, content: null })));
    }
  });
  const ship = set.desired.filter((c) => !offenders.includes(c));
  await ws.put(forward(ship));
  const check = await confirmedFailure(control, ws.target);
  outcome.offenders = offenders;
  if (check.failed) {
    outcome.error = `test command failed (${describe(check.failed)}) on the rebuilt set without the offenders`;
    outcome.output = check.failed.output;
    await ws.put(backward(base));
    return outcome; // staging stays marked as differing from live (see above)
  }
  const shipped = new Set(ship.map((c) => c.path));
  const changes: StagedChange[] = [...forward(base), ...forward(ship), ...set.live.filter((p) => !shipped.has(p)).map((p) => ({ path: p, content: null }))];
  try {
    await ws.commit(changes);
  } catch (err) {
    return { ...outcome, stage: 'write', rebuilt: true, error: `moving tested files into place failed: ${(err as Error).message}` };
  }
  logger.warn({ offenders: offenders.map((o) => `${o.env} ${o.appId}`) }, 'nginx files rebuilt from the desired set; rejected services left out');
  return reload(control, {
    ...outcome,
    rebuilt: true,
    baseLive: true,
    filesWritten: ship.length,
    filesRemoved: changes.length - base.length - ship.length,
    output: null,
  });
}
