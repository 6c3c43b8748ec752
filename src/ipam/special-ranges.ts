/**
 * Address ranges a container pool must not cover (issue 16): a pool over any of them either can
 * never work (multicast, unspecified, IPv4-mapped IPv6 addresses are not unicast host addresses)
 * or is almost certainly a typo (loopback, link-local, the IPv4 "future use" block, prefixes so wide
 * that one pool blocks every other of its family: pools never overlap, so `::/0` would).
 * `allowSpecial` overrides the second kind only, for the rare legitimate case (the demo's loopback
 * pool, a link-local Docker network, a deliberately wide prefix allocating from a small range).
 */
import { BerthError } from '../errors';
import { cidrLast, formatCidr, parseCidr, type Cidr, type Family } from './address';

export type RangeClass = 'unspecified' | 'loopback' | 'link-local' | 'multicast' | 'reserved' | 'broadcast' | 'ipv4-mapped';

interface Special {
  cidr: Cidr;
  text: string;
  cls: RangeClass;
  overridable: boolean;
}

function special(text: string, cls: RangeClass, overridable: boolean): Special {
  const r = parseCidr(text);
  if (!r.ok) throw new Error(`bad special range ${text}`);
  return { cidr: r.cidr, text, cls, overridable };
}

/** Never-overridable entries first: when a pool covers several, the error names the one no flag can lift. */
const SPECIAL: readonly Special[] = [
  special('0.0.0.0/8', 'unspecified', false),
  special('224.0.0.0/4', 'multicast', false),
  special('255.255.255.255/32', 'broadcast', false),
  special('::/128', 'unspecified', false),
  special('::ffff:0:0/96', 'ipv4-mapped', false),
  special('ff00::/8', 'multicast', false),
  special('127.0.0.0/8', 'loopback', true),
  special('169.254.0.0/16', 'link-local', true),
  special('240.0.0.0/4', 'reserved', true),
  special('::1/128', 'loopback', true),
  special('fe80::/10', 'link-local', true),
];

/**
 * Shortest prefix accepted without the override. An IPv4 /8 is the largest private block (10/8);
 * an IPv6 /48 is a whole site. Either is far more than one pool materialises (at most 2^20 rows),
 * so a wider prefix only blocks other pools.
 */
export const MIN_PREFIX: Record<Family, number> = { 4: 8, 6: 48 };

const overlaps = (a: Cidr, b: Cidr) => a.family === b.family && a.network <= cidrLast(b) && b.network <= cidrLast(a);

/**
 * Throws POOL_CIDR_TOO_WIDE or POOL_CIDR_RESERVED for a pool CIDR that must not be used (or not
 * without `allowSpecial`); returns what the override let through, for the audit trail.
 */
export function checkPoolCidr(cidr: Cidr, allowSpecial: boolean): string[] {
  const text = formatCidr(cidr);
  const hint = 'pass "allowSpecial": true (CLI: --allow-special) if this is really wanted';
  if (cidr.prefixLength === 0) {
    throw new BerthError(
      'POOL_CIDR_TOO_WIDE',
      `cidr: ${text} is too wide: it covers every IPv${cidr.family} address and would block every other pool of that family`,
      {
        field: 'cidr',
        prefixLength: 0,
        minPrefixLength: MIN_PREFIX[cidr.family],
        overridable: false,
      },
    );
  }
  const hits = SPECIAL.filter((s) => overlaps(s.cidr, cidr));
  const hard = hits.find((s) => !s.overridable);
  const soft = hits.filter((s) => s.overridable);
  const refuse = hard ?? (allowSpecial ? undefined : soft[0]);
  if (refuse) {
    throw new BerthError(
      'POOL_CIDR_RESERVED',
      `cidr: ${text} overlaps ${refuse.text}, ${refuse.cls} addresses, which containers ${refuse.overridable ? `should not use; ${hint}` : 'cannot use'}`,
      {
        field: 'cidr',
        class: refuse.cls,
        range: refuse.text,
        overridable: refuse.overridable,
        classes: [...new Set(hits.map((s) => s.cls))],
      },
    );
  }
  const overridden = soft.map((s) => `${s.cls} ${s.text}`);
  if (cidr.prefixLength < MIN_PREFIX[cidr.family]) {
    if (!allowSpecial) {
      throw new BerthError(
        'POOL_CIDR_TOO_WIDE',
        `cidr: ${text} is wider than /${MIN_PREFIX[cidr.family]}, the widest IPv${cidr.family} pool accepted (pools never overlap: it would block every other pool inside it); ${hint}`,
        {
          field: 'cidr',
          prefixLength: cidr.prefixLength,
          minPrefixLength: MIN_PREFIX[cidr.family],
          overridable: true,
        },
      );
    }
    overridden.push(`wider than /${MIN_PREFIX[cidr.family]}`);
  }
  return overridden;
}
