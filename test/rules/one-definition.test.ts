/**
 * Each rule is defined once: no file under src/ outside src/rules may carry its own regular
 * expression for an environment name or a DNS label, or its own app-id length limit.
 */
import fs from 'node:fs';
import path from 'node:path';

const SRC = path.join(__dirname, '../../src');

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return p.endsWith(`${path.sep}rules`) || p.endsWith(`${path.sep}sim`) ? [] : files(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

// The env-name and DNS-label grammars as they were spelled in their copies.
const FORBIDDEN: Array<[string, RegExp]> = [
  ['env-name regex', /\[a-z0-9-\]\{1,32\}/],
  ['DNS-label regex', /\[a-z0-9\]\(\?:?\[a-z0-9-\]\{0,6[01]\}\[a-z0-9\]\)/],
  ['DNS-label regex (underscore variant)', /\[a-z0-9_\]\(\[a-z0-9_-\]\{0,61\}/],
];

describe('rules are defined once (src/rules)', () => {
  const all = files(SRC);
  test('the scan sees the files that used to hold copies', () => {
    const rel = all.map((f) => path.relative(SRC, f));
    expect(rel).toEqual(expect.arrayContaining(['model/validate.ts', 'nginx/validate.ts', 'config/parsers.ts', 'http/routes/services.ts', 'dns/records.ts']));
  });
  test.each(FORBIDDEN)('no %s outside src/rules', (_name, re) => {
    const hits = all.filter((f) =>
      fs
        .readFileSync(f, 'utf8')
        .split('\n')
        .some((line) => !/^\s*(\*|\/\/|\/\*)/.test(line) && re.test(line)),
    );
    expect(hits.map((f) => path.relative(SRC, f))).toEqual([]);
  });
  test('the rules themselves do match the patterns (so the scan can fail)', () => {
    const rules = fs.readFileSync(path.join(SRC, 'rules/names.ts'), 'utf8');
    expect(FORBIDDEN[1][1].test(rules)).toBe(true);
  });
});

describe('src/rules is pure', () => {
  const dir = path.join(SRC, 'rules');
  test.each(fs.readdirSync(dir).filter((f) => f.endsWith('.ts')))('%s imports only ipaddr.js and its siblings', (f) => {
    const src = fs.readFileSync(path.join(dir, f), 'utf8');
    for (const m of src.matchAll(/from '([^']+)'/g)) expect(m[1]).toMatch(/^(\.\/|ipaddr\.js$)/);
  });
});
