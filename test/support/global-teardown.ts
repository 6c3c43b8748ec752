/**
 * Jest global teardown: after Jest's own summary (reporters run before this), ONE notice listing
 * the suites or parts of tests skipped because an external tool is not installed, which tools, and
 * the command that installs them; then this run's file of skipped suites is removed. The suites
 * record themselves through test/support/tools.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { INSTALL_COMMAND, MISSING_TOOLS_ENV } from './tools';

const SBIN = ['/usr/sbin', '/sbin'];

export interface Skipped {
  suite: string;
  missing: string[];
  file: string;
}

export function readSkipped(file: string): Skipped[] {
  const seen = new Set<string>();
  const rows: Skipped[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    let r: Skipped;
    try {
      r = JSON.parse(line) as Skipped;
    } catch {
      continue; // empty, or cut short by a killed worker
    }
    const key = `${r.file}\0${r.suite}`;
    if (!seen.has(key)) rows.push(r);
    seen.add(key);
  }
  return rows.sort((a, b) => a.file.localeCompare(b.file) || a.suite.localeCompare(b.suite));
}

/** The notice, or '' when nothing was skipped. */
export function missingToolsNotice(rows: Skipped[]): string {
  if (!rows.length) return '';
  const tools = [...new Set(rows.flatMap((r) => r.missing))].sort();
  return [
    '',
    `NOT TESTED: ${rows.length} suite(s) or part(s) skipped because ${tools.join(', ')} ${tools.length === 1 ? 'is' : 'are'} not installed:`,
    ...rows.map((r) => `  ${r.file ? `${r.file}: ` : ''}${r.suite} (needs ${r.missing.join(', ')})`),
    `Install them with \`${INSTALL_COMMAND}\` (apt-get as root; otherwise it prints the command to run), then run the tests again.`,
    // Debian puts nginx in /usr/sbin, which a normal user's PATH lacks.
    ...tools
      .filter((t) => SBIN.some((d) => fs.existsSync(path.join(d, t))))
      .map((t) => `${t} is installed in /usr/sbin, which is not on your PATH: export PATH="$PATH:/usr/sbin"`),
    'With CI set, a missing tool fails the run instead (CONTRIBUTING.md).',
    '',
  ].join('\n');
}

export default function globalTeardown(): void {
  const file = process.env[MISSING_TOOLS_ENV];
  if (!file || !fs.existsSync(file)) return;
  process.stderr.write(missingToolsNotice(readSkipped(file)));
  fs.rmSync(file, { force: true });
}
