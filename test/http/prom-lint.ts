/**
 * A parser of the Prometheus text exposition format (0.0.4) and the checks of `promtool check
 * metrics` that apply to berth: HELP and TYPE for every family, once; counters end in `_total`,
 * nothing else does; histogram/summary suffixes only on their own families; snake_case names;
 * no abbreviated units; every sample belongs to a declared family.
 */
export interface Family {
  name: string;
  type?: string;
  help?: string;
  samples: string[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)(\s+\d+)?$/;
const SUFFIXES: Record<string, string[]> = { histogram: ['_bucket', '_sum', '_count'], summary: ['_sum', '_count'] };
// promtool's "metric names should not contain abbreviated units".
const ABBREVIATED = /(^|_)(ms|msec|msecs|sec|secs|us|usec|usecs|ns|nsec|kb|mb|gb|pct)(_|$)/i;

/** Families by name, and the problems found while parsing (duplicates, samples without a family…). */
export function parseExposition(text: string): { families: Map<string, Family>; problems: string[] } {
  const families = new Map<string, Family>();
  const problems: string[] = [];
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, samples: [] }));
    return f;
  };
  const ownerOf = (sample: string): Family | undefined => {
    if (families.has(sample)) return families.get(sample);
    for (const [type, suffixes] of Object.entries(SUFFIXES)) {
      for (const s of suffixes) {
        const f = sample.endsWith(s) ? families.get(sample.slice(0, -s.length)) : undefined;
        if (f?.type === type) return f;
      }
    }
    return undefined;
  };
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const meta = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
    if (meta) {
      const [, kind, name, rest = ''] = meta;
      if (!NAME.test(name)) problems.push(`${name}: not a valid metric name`);
      const f = family(name);
      if (f.samples.length) problems.push(`${name}: ${kind} after its samples`);
      if (kind === 'HELP') {
        if (f.help !== undefined) problems.push(`${name}: duplicate HELP (duplicate family)`);
        f.help = rest;
      } else {
        if (f.type !== undefined) problems.push(`${name}: duplicate TYPE (duplicate family)`);
        f.type = rest;
      }
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) {
      problems.push(`unparsable line: ${line.slice(0, 120)}`);
      continue;
    }
    const owner = ownerOf(m[1]);
    if (!owner) problems.push(`${m[1]}: sample without HELP/TYPE`);
    else owner.samples.push(line);
    if (!Number.isFinite(Number(m[3])) && !['NaN', '+Inf', '-Inf'].includes(m[3])) problems.push(`${m[1]}: value ${m[3]} is not a number`);
  }
  return { families, problems };
}

/** promtool's lint problems of the families (empty when clean). */
export function lintFamilies(families: Map<string, Family>): string[] {
  const problems: string[] = [];
  for (const f of families.values()) {
    if (!f.help) problems.push(`${f.name}: no HELP text`);
    if (!f.type) problems.push(`${f.name}: no TYPE`);
    if (f.type === 'counter' && !f.name.endsWith('_total')) problems.push(`${f.name}: counter names should end in _total`);
    if (f.type !== 'counter' && f.name.endsWith('_total')) problems.push(`${f.name}: non-counter (${f.type}) names should not end in _total`);
    if (f.type !== 'histogram' && f.type !== 'summary' && /_(bucket|count|sum)$/.test(f.name))
      problems.push(`${f.name}: _bucket/_count/_sum are for histograms and summaries`);
    if (/[A-Z]/.test(f.name)) problems.push(`${f.name}: metric names should be snake_case`);
    if (ABBREVIATED.test(f.name)) problems.push(`${f.name}: metric names should not contain abbreviated units`);
  }
  return problems;
}
