import type { Service } from '../../model/types';
import { serviceUpstreamName } from '../names';
import { target } from '../template-context';
import { serviceErrors } from '../validate';

/** Upstream name → its endpoints as the Lua dict holds them: `addr:port addr:port …` ('' = none). */
export type DictEntries = Map<string, string>;

/**
 * The dict entries for a catalog: one per HTTP service that renders (the same validation as the
 * files, so an upstream exists in the dict exactly when it can exist in Nginx). Entries are kept
 * per service object: an unchanged service costs a WeakMap lookup.
 */
export class EntryBuilder {
  private readonly known = new WeakMap<Service, readonly [string, string] | null>();

  build(services: readonly Service[]): DictEntries {
    const out: DictEntries = new Map();
    for (const s of services) {
      let entry = this.known.get(s);
      if (entry === undefined) {
        entry =
          s.proxy === 'http' && serviceErrors(s).length === 0 ? [serviceUpstreamName(s), s.endpoints.map((e) => target(e.address, e.port)).join(' ')] : null;
        this.known.set(s, entry);
      }
      if (entry && !out.has(entry[0])) out.set(entry[0], entry[1]);
    }
    return out;
  }
}

/** One body line: `<upstream> <endpoint> …`, or the bare name for an upstream without endpoints. */
const line = (name: string, value: string) => (value ? `${name} ${value}` : name);

/** The body of a full push (`?mode=full`): every upstream; the dict drops the ones not named. */
export function fullBody(entries: DictEntries): string {
  let body = '';
  for (const [name, value] of entries) body += `${line(name, value)}\n`;
  return body;
}

/** The body of a delta push from `before` to `after` (`-<upstream>` drops one), and how many lines it has. */
export function deltaBody(before: DictEntries, after: DictEntries): { body: string; lines: number } {
  let body = '';
  let lines = 0;
  for (const [name, value] of after) {
    if (before.get(name) === value) continue;
    body += `${line(name, value)}\n`;
    lines++;
  }
  for (const name of before.keys()) {
    if (after.has(name)) continue;
    body += `-${name}\n`;
    lines++;
  }
  return { body, lines };
}
