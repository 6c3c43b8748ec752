/**
 * External tools some suites need (dig, kdig, nginx, curl, openssl, chromium …). A suite that
 * needs one wraps itself in `describeWithTools`: with every tool on PATH it runs as usual; without
 * one it is skipped and the missing tool is recorded for the notice printed at the end of the run;
 * with `CI` set a missing tool is a failing test naming it, so CI never skips silently.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Where skipped suites note what they missed; the reporter prints and removes it at the end. */
export const MISSING_TOOLS_FILE = path.join(os.tmpdir(), `berth-missing-tools-${process.env.BERTH_TEST_RUN_ID ?? 'run'}.jsonl`);

const found = new Map<string, boolean>();

/** True when `name` is an executable file on PATH (or an absolute path to one). */
export function haveTool(name: string): boolean {
  const cached = found.get(name);
  if (cached !== undefined) return cached;
  const dirs = name.includes('/') ? [''] : (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  const ok = dirs.some((d) => {
    try {
      fs.accessSync(d ? path.join(d, name) : name, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  found.set(name, ok);
  return ok;
}

/** The tools of `names` that are not installed. */
export function missingTools(names: readonly string[]): string[] {
  return names.filter((n) => !haveTool(n));
}

/**
 * `describe(name, fn)` when every tool is installed; otherwise skipped with a recorded notice, or
 * (with `CI` set) one failing test that names the missing tools.
 */
export function describeWithTools(tools: readonly string[], name: string, fn: () => void): void {
  const missing = missingTools(tools);
  if (!missing.length) {
    describe(name, fn);
    return;
  }
  if (process.env.CI) {
    describe(name, () => {
      it(`needs ${missing.join(', ')}`, () => {
        throw new Error(`missing tool(s) in CI: ${missing.join(', ')} (install them: npm run setup)`);
      });
    });
    return;
  }
  fs.appendFileSync(MISSING_TOOLS_FILE, `${JSON.stringify({ suite: name, missing, file: expect.getState().testPath ?? '' })}\n`);
  describe.skip(`${name} (skipped: ${missing.join(', ')} not installed)`, fn);
}
