/** Index comparison for tests: equal dumps answer every query alike. */
import type { DnsIndex } from '../../src/dns/build';
import type { Encoded } from '../../src/dns/encoder';
import type { NameNode } from '../../src/dns/node';

/** Runs a build or patch generator to the end. */
export function run<T>(steps: Generator<void, T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

const FIELDS = ['a', 'aaaa', 'srv', 'ptr', 'soa', 'ns', 'any'] as const;

/** Every name of every env with the exact bytes of every answer: equal dumps answer every query alike. */
export function dump(index: DnsIndex): Record<string, unknown> {
  const bytes = (n: NameNode, e: Encoded | undefined) =>
    e && { body: (e.buf ?? n.buf)!.subarray(e.off, e.off + e.len).toString('hex'), an: e.an, ns: e.ns, ar: e.ar, lean: e.lean?.len };
  const envs: Record<string, unknown> = {};
  for (const [env, t] of [...index.envs].sort()) {
    if (t.size === 0) continue;
    const names: Record<string, unknown> = {};
    for (const key of [...t.keys()].sort()) {
      const n = t.get(key)!;
      names[key] = { zone: n.zone, defined: n.defined, ...Object.fromEntries(FIELDS.map((f) => [f, bytes(n, n[f])])) };
    }
    envs[env] = names;
  }
  const zones = Object.fromEntries([...index.zones].sort().map(([k, z]) => [k, { name: z.name, soa: z.soaTail.toString('hex') }]));
  return { envs, zones, serial: index.serial, names: index.names, skipped: [...index.skipped].sort() };
}
