import fs from 'node:fs';
import path from 'node:path';
import { findOffenders } from '../../src/nginx/bisect';
import { runCommand } from '../../src/nginx/command';
import { unifiedDiff } from '../../src/nginx/diff';
import { readManagedFiles, removeStaleTemps, writeFileAtomic } from '../../src/nginx/files';
import { guardReason, planSync } from '../../src/nginx/plan';
import type { RenderedFile } from '../../src/nginx/rendered-file';
import { tmpDir } from './helpers';

const file = (p: string, servers: number, extra = ''): RenderedFile => ({
  path: p,
  env: p.split('/')[0],
  appId: `/${p}`,
  servers,
  definitionKey: p,
  content: `# berth: /${p} in ${p.split('/')[0]}, servers=${servers}; generated, do not edit\n${extra}`,
});
const disk = (...files: RenderedFile[]) => new Map(files.map((f) => [f.path, Buffer.from(f.content)]));

describe('findOffenders', () => {
  it.each([
    { desc: 'one bad among many', n: 37, bad: [13], maxTests: 20 },
    { desc: 'several bad', n: 64, bad: [0, 31, 32, 63], maxTests: 60 },
    { desc: 'all bad', n: 3, bad: [0, 1, 2], maxTests: 10 },
  ])('$desc', async ({ n, bad, maxTests }) => {
    const items = Array.from({ length: n }, (_, i) => i);
    let tests = 0;
    const found = await findOffenders(items, async (subset) => {
      tests++;
      return !subset.some((i) => bad.includes(i));
    });
    expect(found.sort((a, b) => a - b)).toEqual(bad);
    expect(tests).toBeLessThanOrEqual(maxTests); // a bad few among many cost fewer tests than one by one
  });

  it('finds an interaction (two changes fine alone, broken together)', async () => {
    const found = await findOffenders([1, 2, 3, 4], async (s) => !(s.includes(1) && s.includes(4)));
    expect(found).toEqual([4]);
  });
});

describe('planSync and the guard', () => {
  it('writes only what differs and removes files of services that are gone', () => {
    const plan = planSync(
      [file('default/http/a.conf', 2), file('default/http/b.conf', 1, 'new')],
      disk(file('default/http/a.conf', 2), file('default/http/b.conf', 1), file('default/http/c.conf', 1)),
      new Set(),
    );
    expect(plan.changes.map((c) => [c.path, c.content === null ? 'remove' : 'write'])).toEqual([
      ['default/http/b.conf', 'write'],
      ['default/http/c.conf', 'remove'],
    ]);
    expect(plan).toMatchObject({ serversBefore: 4, serversAfter: 3, serversRemoved: 1 });
    expect(guardReason(plan, true, 0.5)).toBeNull();
  });

  it.each([
    { desc: 'more than the ratio of servers', before: [4, 4], after: [1, 1], held: /6 of 8/ },
    { desc: 'every server', before: [2, 2], after: [0, 0], held: /all 4 upstream servers/ },
    { desc: 'exactly the ratio is allowed', before: [2, 2], after: [0, 2], held: null },
  ])('$desc', ({ before, after, held }) => {
    const plan = planSync(
      after.map((n, i) => file(`default/http/s${i}.conf`, n, `v${n}`)),
      disk(...before.map((n, i) => file(`default/http/s${i}.conf`, n))),
      new Set(),
    );
    const reason = guardReason(plan, true, 0.5);
    if (held) expect(reason).toMatch(held);
    else expect(reason).toBeNull();
  });

  it('keeps the files of services that are held back', () => {
    const plan = planSync([], disk(file('default/http/a.conf', 1), file('default/http/b.conf', 1)), new Set(['default/http/a.conf']));
    expect(plan.changes.map((c) => c.path)).toEqual(['default/http/b.conf']);
  });
});

describe('files', () => {
  it('writes atomically via a temp file that an include glob never matches, and reads only berth files', async () => {
    const dir = tmpDir();
    await writeFileAtomic(dir, 'default/http/a.conf', '# berth: /a in default, servers=0\nx\n');
    fs.writeFileSync(path.join(dir, 'default/http/operator.conf'), 'server { }\n');
    fs.writeFileSync(path.join(dir, 'default/http/.a.conf.123.abcd.tmp'), '# berth: partial');
    const files = await readManagedFiles(dir);
    expect([...files.keys()]).toEqual(['default/http/a.conf']);
    expect(await removeStaleTemps(dir)).toBe(1);
    expect(fs.readdirSync(path.join(dir, 'default/http')).sort()).toEqual(['a.conf', 'operator.conf']);
  });

  it('writes again after an operator removed the folder berth made before', async () => {
    const dir = tmpDir();
    await writeFileAtomic(dir, 'qa/http/a.conf', '# berth: /a in qa, servers=0\n');
    fs.rmSync(path.join(dir, 'qa'), { recursive: true });
    await writeFileAtomic(dir, 'qa/http/b.conf', '# berth: /b in qa, servers=0\n');
    expect(fs.readdirSync(path.join(dir, 'qa/http'))).toEqual(['b.conf']);
  });

  it('restores exact bytes, including bytes that are not UTF-8', async () => {
    const dir = tmpDir();
    const bytes = Buffer.concat([Buffer.from('# berth: /x in default, servers=0\n'), Buffer.from([0xff, 0xfe, 0x00, 0x0a])]);
    await writeFileAtomic(dir, 'default/http/x.conf', bytes);
    const read = (await readManagedFiles(dir)).get('default/http/x.conf');
    expect(read?.equals(bytes)).toBe(true);
  });
});

describe('runCommand', () => {
  it('reports exit code and output', async () => {
    const r = await runCommand('echo hello; echo oops >&2; exit 3', 5000);
    expect(r).toMatchObject({ ok: false, code: 3, timedOut: false });
    expect(r.output).toContain('hello');
    expect(r.output).toContain('oops');
  });

  it('kills the whole process group of a hung command at the timeout', async () => {
    const dir = tmpDir();
    const pidFile = path.join(dir, 'child.pid');
    const r = await runCommand(`sleep 30 & echo $! > ${pidFile}; wait`, 300);
    expect(r).toMatchObject({ ok: false, timedOut: true });
    expect(r.durationMs).toBeLessThan(5000);
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    // The grandchild (`sleep`) went with the group.
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const deadline = Date.now() + 3000;
    while (alive() && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    expect(alive()).toBe(false);
  });

  it('does not wait for a background process the command left holding its output', async () => {
    const r = await runCommand('sleep 20 & echo started', 10000);
    expect(r).toMatchObject({ ok: true, code: 0, timedOut: false });
    expect(r.output).toBe('started');
    expect(r.durationMs).toBeLessThan(5000);
  });

  it('an empty command is skipped', async () => {
    expect(await runCommand('', 1000)).toMatchObject({ ok: true, skipped: true });
  });
});

describe('unifiedDiff', () => {
  it('prints hunks with context', () => {
    const a = 'l1\nl2\nl3\nl4\nl5\nl6\nl7\nl8\n';
    const b = 'l1\nl2\nl3\nl4\nX5\nl6\nl7\nl8\n';
    expect(unifiedDiff(a, b, 'a/f', 'b/f')).toBe('--- a/f\n+++ b/f\n@@ -2,7 +2,7 @@\n l2\n l3\n l4\n-l5\n+X5\n l6\n l7\n l8\n');
    expect(unifiedDiff('', 'new\n', '/dev/null', 'b/f')).toBe('--- /dev/null\n+++ b/f\n@@ -0,0 +1,1 @@\n+new\n');
    expect(unifiedDiff(a, a, 'a', 'b')).toBe('');
  });
});
