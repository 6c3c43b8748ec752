/** The missing-tool rule itself: skip and record outside CI, fail naming the tool in CI, one notice at the end. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { missingToolsNotice, readSkipped } from './global-teardown';
import { haveTool, INSTALL_COMMAND, MISSING_TOOLS_ENV, missingTools, toolsFor } from './tools';

const ABSENT = 'berth-no-such-tool-4f1c';

describe('external tools', () => {
  const saved = { ci: process.env.CI, file: process.env[MISSING_TOOLS_ENV] };
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-tools-'));
    process.env[MISSING_TOOLS_ENV] = path.join(dir, 'skipped.jsonl');
  });
  afterEach(() => {
    for (const [k, v] of [
      ['CI', saved.ci],
      [MISSING_TOOLS_ENV, saved.file],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('finds executables on PATH or by absolute path, and nothing else', () => {
    expect(haveTool('sh')).toBe(true);
    expect(haveTool(process.execPath)).toBe(true);
    expect(haveTool(ABSENT)).toBe(false);
    expect(haveTool(os.tmpdir())).toBe(false); // a directory is not a tool
    expect(missingTools(['sh', ABSENT])).toEqual([ABSENT]);
  });

  it('outside CI: a missing tool records the part not run, and the notice names it once with the install command', () => {
    delete process.env.CI;
    expect(toolsFor(['sh'], 'present')).toBe(true);
    expect(toolsFor([ABSENT], 'the part needing it')).toBe(false);
    expect(toolsFor([ABSENT], 'the part needing it')).toBe(false);
    const rows = readSkipped(process.env[MISSING_TOOLS_ENV] as string);
    expect(rows).toEqual([{ suite: 'the part needing it', missing: [ABSENT], file: 'test/support/tools.test.ts' }]);
    const notice = missingToolsNotice(rows);
    expect(notice).toContain(`NOT TESTED: 1 suite(s) or part(s) skipped because ${ABSENT} is not installed:`);
    expect(notice).toContain('test/support/tools.test.ts: the part needing it');
    expect(notice).toContain(INSTALL_COMMAND);
    expect(missingToolsNotice([])).toBe('');
  });

  it('in CI: a missing tool is an error naming it, never a skip', () => {
    process.env.CI = 'true';
    expect(() => toolsFor([ABSENT, 'sh'], 'the part needing it')).toThrow(
      `missing tool(s) in CI: ${ABSENT} (needed by the part needing it; install them: ${INSTALL_COMMAND})`,
    );
    expect(fs.existsSync(process.env[MISSING_TOOLS_ENV] as string)).toBe(false);
  });
});
