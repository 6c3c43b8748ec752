import type { Logger } from '../log';
import { findOffenders } from './bisect';
import type { CommandResult, NginxControl } from './command';
import { removeFile, writeFileAtomic } from './files';
import type { FileChange } from './plan';

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
}

// Thousands of small files: a few writes in flight at once instead of one at a time.
const PARALLEL_WRITES = 16;

async function eachLimited<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_WRITES, items.length) }, worker));
}

const forward = (dir: string) => (c: FileChange) => (c.content === null ? removeFile(dir, c.path) : writeFileAtomic(dir, c.path, c.content));
const backward = (dir: string) => (c: FileChange) => (c.before === null ? removeFile(dir, c.path) : writeFileAtomic(dir, c.path, c.before));

function describe(r: CommandResult): string {
  if (r.timedOut) return `timed out after ${r.durationMs} ms`;
  return r.signal ? `killed by ${r.signal}` : `exit code ${r.code}`;
}

/**
 * Writes the changes atomically, runs the test command and then the reload command. When the
 * test fails every file is put back byte for byte, no reload happens, and the offending changes
 * are searched by testing subsets on top of the previous files (restored again afterwards).
 */
export async function applyChanges(changes: readonly FileChange[], dir: string, control: NginxControl, logger: Logger): Promise<ApplyOutcome> {
  const outcome: ApplyOutcome = { status: 'failed', stage: null, filesWritten: 0, filesRemoved: 0, reloaded: false, output: null, error: null, offenders: [] };
  const done: FileChange[] = [];
  try {
    await eachLimited(changes, async (c) => {
      await forward(dir)(c);
      done.push(c);
    });
  } catch (err) {
    await eachLimited(done, backward(dir));
    return { ...outcome, stage: 'write', error: `writing files failed: ${(err as Error).message}` };
  }

  const test = await control.test();
  if (!test.ok) {
    await eachLimited(changes, backward(dir));
    outcome.stage = 'test';
    outcome.output = test.output;
    outcome.error = `test command failed (${describe(test)})`;
    if (test.timedOut) return outcome; // a hung test says nothing about which file is bad
    const base = await control.test();
    if (!base.ok) {
      outcome.error += "; it fails without berth's changes too, so the culprit is outside the generated files";
      return outcome;
    }
    outcome.offenders = await findOffenders(changes, async (subset) => {
      await eachLimited(subset, forward(dir));
      try {
        return (await control.test()).ok;
      } finally {
        await eachLimited(subset, backward(dir));
      }
    });
    logger.warn({ offenders: outcome.offenders.map((o) => `${o.env} ${o.appId}`) }, 'nginx test rejected services; previous files restored');
    return outcome;
  }
  outcome.filesWritten = changes.filter((c) => c.content !== null).length;
  outcome.filesRemoved = changes.length - outcome.filesWritten;

  const reload = await control.reload();
  if (!reload.ok) {
    // The files passed the test and stay; the next sync retries the reload.
    return { ...outcome, stage: 'reload', output: reload.output, error: `reload command failed (${describe(reload)})` };
  }
  return { ...outcome, status: 'applied', reloaded: !reload.skipped };
}
