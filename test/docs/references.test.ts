/**
 * The repository documents itself: no file cites a document that is not in it, and every relative
 * Markdown link (and heading anchor) resolves. Design, style and reference notes that lived outside
 * the repository were rewritten into docs/; this keeps it that way.
 */
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '../..');
const SCANNED = ['README.md', 'CONTRIBUTING.md', 'docs', 'src', 'test', 'nginx-templates', 'deploy', 'scripts', 'bench', 'migrations'];
// This file lists the patterns; the one-off rewrite script matches them by design.
const EXEMPT = new Set(['test/docs/references.test.ts']);
const SKIP_DIRS = new Set(['node_modules', '.git', 'bench/results', 'var', 'dist', 'coverage']);
const MAX_BYTES = 1 << 20;

/** Citations of documents kept outside the repository, each with what it points at. */
const OUTSIDE: ReadonlyArray<{ what: string; re: RegExp }> = [
  { what: 'the design notes', re: /\bDESIGN(\.md\b|\s*§)/ },
  { what: 'the style notes', re: /\bSTYLE\.md\b/ },
  { what: 'the reference notes', re: /(^|[^A-Za-z0-9_])reference\/[A-Za-z0-9_.-]+/ },
  { what: 'the shared notes folder', re: /\bshared\/reference\b/ },
  { what: 'the DNS measurement notes', re: /\bdnsbench\/|\bdns-bench\.md\b/ },
  { what: 'the peers notes', re: /\bpeers\.md\b/ },
  { what: 'a section of a reference note', re: /\b(ipam|marathon)\.md\s+(b\.\d|§)/ },
];

interface TextFile {
  rel: string;
  lines: string[];
}

function walk(rel: string, out: string[]): void {
  const abs = path.join(ROOT, rel);
  if (!fs.existsSync(abs) || SKIP_DIRS.has(rel) || SKIP_DIRS.has(path.basename(rel))) return;
  const st = fs.lstatSync(abs);
  if (st.isSymbolicLink()) return;
  if (st.isDirectory()) {
    for (const name of fs.readdirSync(abs).sort()) walk(path.posix.join(rel, name), out);
  } else if (st.isFile() && st.size <= MAX_BYTES) {
    out.push(rel);
  }
}

function textFiles(): TextFile[] {
  const rels: string[] = [];
  for (const r of SCANNED) walk(r, rels);
  const files: TextFile[] = [];
  for (const rel of rels) {
    const buf = fs.readFileSync(path.join(ROOT, rel));
    if (buf.subarray(0, 8192).includes(0)) continue; // binary
    files.push({ rel, lines: buf.toString('utf8').split('\n') });
  }
  return files;
}

/** `file:line: text` for every citation of an outside document in `lines`. */
function outsideCitations(rel: string, lines: readonly string[]): string[] {
  const found: string[] = [];
  lines.forEach((line, i) => {
    const whats = OUTSIDE.filter(({ re }) => re.test(line)).map(({ what }) => what);
    if (whats.length > 0) found.push(`${rel}:${i + 1}: cites ${whats.join(', ')}: ${line.trim().slice(0, 160)}`);
  });
  return found;
}

/** GitHub's heading anchor: lowercase, punctuation dropped (but `-` and `_`), each space a hyphen. */
function slug(heading: string): string {
  return heading
    .trim()
    .replace(/<[^>]+>/g, '')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Lines outside fenced code blocks, with their 1-based numbers. */
function prose(lines: readonly string[]): Array<{ n: number; text: string }> {
  const out: Array<{ n: number; text: string }> = [];
  let fence: string | null = null;
  lines.forEach((line, i) => {
    const m = /^\s*(```+|~~~+)/.exec(line);
    if (m) {
      if (fence === null) fence = m[1][0];
      else if (m[1][0] === fence) fence = null;
      return;
    }
    if (fence === null) out.push({ n: i + 1, text: line });
  });
  return out;
}

/** Every anchor a Markdown file defines: heading slugs (deduplicated as GitHub does) and explicit ids. */
function anchors(lines: readonly string[]): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const { text } of prose(lines)) {
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(text);
    if (h) {
      const base = slug(h[1]);
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      out.add(n === 0 ? base : `${base}-${n}`);
    }
    for (const m of text.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) out.add(m[1]);
  }
  return out;
}

/** Relative links `[text](target)` outside code, with line numbers. */
function relativeLinks(lines: readonly string[]): Array<{ n: number; target: string }> {
  const out: Array<{ n: number; target: string }> = [];
  for (const { n, text } of prose(lines)) {
    const noCode = text.replace(/`[^`]*`/g, '');
    for (const m of noCode.matchAll(/\]\(\s*(?:<([^>]+)>|([^)\s]+))(?:\s+"[^"]*")?\s*\)/g)) {
      const target = m[1] ?? m[2];
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
      out.push({ n, target });
    }
  }
  return out;
}

describe('documentation is self-contained', () => {
  const files = textFiles();
  const scanned = files.filter((f) => !EXEMPT.has(f.rel));
  const markdown = files.filter((f) => f.rel.endsWith('.md'));

  test('the scan covers the code, tests and documents, and recognises each kind of outside citation', () => {
    const rels = new Set(files.map((f) => f.rel));
    for (const must of ['README.md', 'docs/architecture.md', 'src/main.ts', 'nginx-templates/README.md', 'migrations/001_ipam.ts']) {
      expect(rels).toContain(must);
    }
    const samples = ['see DESIGN §4', 'DESIGN.md', 'STYLE.md', 'reference/marathon.md', 'shared/reference', 'dnsbench/gen.js', 'peers.md (c) 1', 'ipam.md b.5'];
    for (const s of samples) expect(outsideCitations('x', [s])).toHaveLength(1);
    // What the docs now say instead is not an outside citation.
    for (const s of ['docs/ipam.md "Allocation design"', 'docs/marathon.md', 'RFC 1035 §4.2.2', 'berth-dnsbench-']) {
      expect(outsideCitations('x', [s])).toEqual([]);
    }
  });

  test('links and anchors are read the way GitHub renders them', () => {
    expect(relativeLinks(['[a](docs/x.md#y) `[b](no.md)` [c](https://x.org) [d](<../y z.md>)'])).toEqual([
      { n: 1, target: 'docs/x.md#y' },
      { n: 1, target: '../y z.md' },
    ]);
    expect(relativeLinks(['```', '[a](inside-a-fence.md)', '```'])).toEqual([]);
    expect([...anchors(['# `berth demo`', '## Size, TC and EDNS', '## 1. Empty answers — never wipe', '## Size, TC and EDNS', '<a id="rule-1"></a>'])]).toEqual(
      ['berth-demo', 'size-tc-and-edns', '1-empty-answers--never-wipe', 'size-tc-and-edns-1', 'rule-1'],
    );
    // The real documents have links for the next test to check.
    expect(markdown.flatMap((f) => relativeLinks(f.lines)).length).toBeGreaterThan(30);
  });

  test('no file cites the design, style or reference notes kept outside the repository', () => {
    expect(scanned.flatMap((f) => outsideCitations(f.rel, f.lines))).toEqual([]);
  });

  test('every docs/<page>.md a file names exists, with the "Section" quoted after it', () => {
    const missing: string[] = [];
    const sections = new Map<string, Set<string>>();
    const sectionsOf = (rel: string): Set<string> => {
      let a = sections.get(rel);
      if (!a) sections.set(rel, (a = anchors(fs.readFileSync(path.join(ROOT, rel), 'utf8').split('\n'))));
      return a;
    };
    for (const f of scanned) {
      f.lines.forEach((line, i) => {
        for (const m of line.matchAll(/(?<![\w./-])(docs\/[\w-]+\.md|README\.md)\b(?:,? "([^"]+)")?/g)) {
          const [, rel, section] = m;
          if (!fs.existsSync(path.join(ROOT, rel))) missing.push(`${f.rel}:${i + 1}: ${rel}`);
          else if (section !== undefined && !sectionsOf(rel).has(slug(section))) missing.push(`${f.rel}:${i + 1}: ${rel} "${section}"`);
        }
      });
    }
    expect(missing).toEqual([]);
  });

  test('every relative Markdown link points to a file, and every anchor to a heading, that exists', () => {
    const anchorsOf = new Map<string, Set<string>>();
    const anchorsFor = (abs: string): Set<string> => {
      let a = anchorsOf.get(abs);
      if (!a) anchorsOf.set(abs, (a = anchors(fs.readFileSync(abs, 'utf8').split('\n'))));
      return a;
    };
    const broken: string[] = [];
    for (const f of markdown) {
      const here = path.join(ROOT, f.rel);
      for (const { n, target } of relativeLinks(f.lines)) {
        const [file, anchor] = target.split('#', 2);
        const abs = file === '' ? here : path.resolve(path.dirname(here), decodeURIComponent(file));
        const where = `${f.rel}:${n}: ${target}`;
        if (!abs.startsWith(ROOT + path.sep) && abs !== ROOT) broken.push(`${where} (outside the repository)`);
        else if (!fs.existsSync(abs)) broken.push(`${where} (no such file)`);
        else if (anchor && abs.endsWith('.md') && !anchorsFor(abs).has(anchor)) broken.push(`${where} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });

  test('README lists every page in docs/', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const pages = fs.readdirSync(path.join(ROOT, 'docs')).filter((p) => p.endsWith('.md'));
    expect(pages.length).toBeGreaterThan(0);
    expect(pages.filter((p) => !readme.includes(`](docs/${p})`))).toEqual([]);
  });
});
