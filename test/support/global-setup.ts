/**
 * Jest global setup: names this run's file of suites skipped for a missing tool (see tools.ts).
 * Set here, in the main process before any worker starts, so every worker appends to the same
 * file and a parallel run in another checkout uses its own. Files left by runs that were killed
 * before their teardown are removed after a day.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MISSING_TOOLS_ENV, missingToolsFile } from './tools';

const DAY_MS = 24 * 3600 * 1000;

export default function globalSetup(): void {
  const file = missingToolsFile(`${process.pid}-${Date.now().toString(36)}`);
  process.env[MISSING_TOOLS_ENV] = file;
  fs.rmSync(file, { force: true });
  const stale = path.basename(missingToolsFile('')).replace(/\.jsonl$/, '');
  for (const f of fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith(stale) && n.endsWith('.jsonl'))) {
    const p = path.join(os.tmpdir(), f);
    try {
      if (Date.now() - fs.statSync(p).mtimeMs > DAY_MS) fs.rmSync(p, { force: true });
    } catch {
      // removed by another run meanwhile
    }
  }
}
