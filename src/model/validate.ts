/**
 * Label-value validators. The grammar of every value (domain, env, port, IP) is defined once in
 * src/rules; what is here is specific to labels: lists and fixed word sets.
 */
import { bad, checkDomain, ok, type Checked } from '../rules';

export type { Checked } from '../rules';
export { checkDomain, checkEnv, checkIp, checkPortName, checkPortText as checkPort, isIpLiteral } from '../rules';

/** A comma-separated list of DNS names, deduplicated in order; the first is the primary name. */
export function checkDomainList(raw: string): Checked<string[]> {
  const parts = raw.split(',');
  const out: string[] = [];
  for (const p of parts) {
    const c = checkDomain(p);
    if (!c.ok) return bad(`"${p.trim().slice(0, 80)}": ${c.reason}`);
    if (!out.includes(c.value)) out.push(c.value);
  }
  return ok(out);
}

/** One of a fixed set of words. */
export function checkOneOf<T extends string>(raw: string, allowed: readonly T[]): Checked<T> {
  const s = raw.trim().toLowerCase();
  return (allowed as readonly string[]).includes(s) ? ok(s as T) : bad(`not one of ${allowed.join(', ')}`);
}
