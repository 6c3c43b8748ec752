import fs from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from './files';

/** A token of nginx.conf: its text span and, for words, the unquoted value. */
interface Token {
  start: number;
  end: number;
  kind: 'word' | 'punct';
  value: string;
}

/**
 * Splits nginx.conf into tokens the way Nginx does: `#` starts a comment at the start of a token,
 * quotes group a word (with backslash escapes), `;`, `{` and `}` end a word.
 */
function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === ';' || c === '{' || c === '}') {
      out.push({ start: i, end: i + 1, kind: 'punct', value: c });
      i++;
    } else if (c === '"' || c === "'") {
      const start = i++;
      let value = '';
      while (i < text.length && text[i] !== c) {
        if (text[i] === '\\' && i + 1 < text.length) i++;
        value += text[i++];
      }
      i++;
      out.push({ start, end: Math.min(i, text.length), kind: 'word', value });
    } else {
      const start = i;
      while (i < text.length && !/[\s;{}]/.test(text[i])) i++;
      out.push({ start, end: i, kind: 'word', value: text.slice(start, i) });
    }
  }
  return out;
}

const quote = (p: string): string => (/^[^\s;{}#"'\\$]+$/.test(p) ? p : `"${p.replace(/[\\"]/g, (m) => `\\${m}`)}"`);

/**
 * The candidate configuration: the main nginx.conf with only the argument of each `include`
 * directive changed. An include into berth's folder (absolute, relative or a glob) points into the
 * same place under staging; any other relative include is made absolute against the main conf's
 * folder (the candidate lives elsewhere, and Nginx resolves relative includes against the folder of
 * the file given with `-c`). Comments, other directives and other paths are copied unchanged.
 * Returns the text and how many includes now point into staging.
 */
export function candidateConf(mainText: string, mainConfPath: string, liveDirs: readonly string[], stagingDir: string): { text: string; staged: number } {
  const base = path.dirname(path.resolve(mainConfPath));
  const tokens = tokenize(mainText);
  let text = '';
  let copied = 0;
  let staged = 0;
  for (let k = 0; k + 1 < tokens.length; k++) {
    const t = tokens[k];
    const atStatementStart = k === 0 || tokens[k - 1].kind === 'punct';
    if (t.kind !== 'word' || t.value !== 'include' || !atStatementStart) continue;
    const arg = tokens[k + 1];
    if (arg.kind !== 'word') continue;
    const abs = path.resolve(base, arg.value);
    const live = liveDirs.find((d) => abs === d || abs.startsWith(`${d}/`));
    const rewritten = live ? stagingDir + abs.slice(live.length) : abs;
    if (live) staged++;
    if (rewritten === arg.value) continue;
    text += mainText.slice(copied, arg.start) + quote(rewritten);
    copied = arg.end;
  }
  return { text: text + mainText.slice(copied), staged };
}

/**
 * Writes the candidate conf for `mainConf` to `target` (atomically), including the staging tree in
 * place of `liveDir`. Both the folder as configured and its real path (symlinks resolved) count as
 * berth's folder.
 */
export async function writeCandidateConf(mainConf: string, liveDir: string, stagingDir: string, target: string): Promise<{ staged: number }> {
  const mainText = await fs.readFile(mainConf, 'utf8');
  const abs = path.resolve(liveDir);
  const real = await fs.realpath(abs).catch(() => abs);
  const { text, staged } = candidateConf(mainText, mainConf, [...new Set([abs, real])], stagingDir);
  await writeFileAtomic(path.dirname(target), path.basename(target), text);
  return { staged };
}
