/**
 * Malformed DNS messages for the DNS fault test, by kind, each with what RFC 1035 and docs/dns.md
 * ask of an authoritative server: silence (nothing to answer with, or a response that must not be
 * answered) or a 12-byte FORMERR/NOTIMP header echoing the id. Seeded, so a failure reproduces.
 */
import { RCODE } from '../../src/dns/wire';
import { prng } from '../support/prng';

/** What berth must do with a packet: 'drop' (silence), an RCODE, or 'any' (random bytes). */
export type Expect = 'drop' | number | 'any';

export interface Kind {
  name: string;
  expect: Expect;
  make(id: number, rnd: () => number): Buffer;
}

export { prng };

/** n pseudo-random bytes, four per PRNG draw (oversized packets are big). */
function bytes(n: number, rnd: () => number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i += 4) {
    const v = Math.floor(rnd() * 4294967296);
    for (let j = 0; j < 4 && i + j < n; j++) b[i + j] = (v >>> (8 * j)) & 255;
  }
  return b;
}

/** A header: id, flags (RD by default), and the four section counts. */
export function header(id: number, counts: [number, number, number, number] = [1, 0, 0, 0], flags = 0x0100): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(flags, 2);
  counts.forEach((c, i) => h.writeUInt16BE(c, 4 + 2 * i));
  return h;
}

export function qname(name: string): Buffer {
  return Buffer.concat([
    ...name
      .split('.')
      .filter(Boolean)
      .map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])),
    Buffer.from([0]),
  ]);
}

const tail = (type: number) => Buffer.from([type >> 8, type & 255, 0, 1]);

/** A well-formed query (class IN). */
export function query(id: number, name: string, type: number): Buffer {
  return Buffer.concat([header(id), qname(name), tail(type)]);
}

const NAME = 'g.berth.test';

export const KINDS: Kind[] = [
  { name: 'truncated header (0-11 bytes)', expect: 'drop', make: (id, r) => header(id).subarray(0, Math.floor(r() * 12)) },
  { name: 'a response (QR=1)', expect: 'drop', make: (id) => Buffer.concat([header(id, [1, 0, 0, 0], 0x8100), qname(NAME), tail(1)]) },
  {
    name: 'label longer than the packet',
    expect: RCODE.FORMERR,
    make: (id, r) => Buffer.concat([header(id), Buffer.from([40 + Math.floor(r() * 23)]), Buffer.from('abc')]),
  },
  {
    name: 'compression pointer loop',
    expect: RCODE.FORMERR,
    make: (id, r) => Buffer.concat([header(id), r() < 0.5 ? Buffer.from([0xc0, 12]) : Buffer.from([1, 0x61, 0xc0, 12]), tail(1)]),
  },
  {
    name: 'reserved label type (0x40/0x80)',
    expect: RCODE.FORMERR,
    make: (id, r) => Buffer.concat([header(id), Buffer.from([r() < 0.5 ? 0x41 : 0x81, 0x61]), qname(NAME), tail(1)]),
  },
  { name: 'QDCOUNT 0', expect: RCODE.FORMERR, make: (id) => Buffer.concat([header(id, [0, 0, 0, 0]), qname(NAME), tail(1)]) },
  {
    name: 'QDCOUNT/ANCOUNT lies (up to 65,535)',
    expect: RCODE.FORMERR,
    make: (id, r) => Buffer.concat([header(id, [2 + Math.floor(r() * 65534), Math.floor(r() * 65536), 0, 0]), qname(NAME), tail(1)]),
  },
  {
    name: 'name longer than 255 bytes',
    expect: RCODE.FORMERR,
    make: (id) => Buffer.concat([header(id), qname(Array.from({ length: 5 }, () => 'x'.repeat(63)).join('.')), tail(1)]),
  },
  {
    name: 'name without terminator',
    expect: RCODE.FORMERR,
    make: (id, r) => Buffer.concat([header(id), Buffer.from([3, 0x61, 0x62, 0x63]), r() < 0.5 ? Buffer.alloc(0) : Buffer.from([5, 0x61])]),
  },
  { name: 'question without type/class', expect: RCODE.FORMERR, make: (id, r) => Buffer.concat([header(id), qname(NAME), bytes(Math.floor(r() * 4), r)]) },
  {
    name: 'garbage additional record (ARCOUNT 1)',
    expect: RCODE.FORMERR,
    make: (id, r) => Buffer.concat([header(id, [1, 0, 0, 1]), qname(NAME), tail(1), bytes(1 + Math.floor(r() * 10), r)]),
  },
  {
    name: 'unsupported opcode',
    expect: RCODE.NOTIMP,
    make: (id, r) => Buffer.concat([header(id, [1, 0, 0, 0], (r() < 0.5 ? 2 : 5) << 11), qname(NAME), tail(1)]),
  },
  // Mostly 2-16 KB (past every UDP size a client may advertise), one in twenty the UDP maximum.
  {
    name: 'oversized (2 KB to 64 KB of random bytes)',
    expect: 'any',
    make: (id, r) => Buffer.concat([header(id), bytes(r() < 0.05 ? 65_495 : 2048 + Math.floor(r() * 14_336), r)]),
  },
  {
    name: 'random bytes (12-512)',
    expect: 'any',
    make: (id, r) =>
      Buffer.concat([header(id, [Math.floor(r() * 3), Math.floor(r() * 2), 0, Math.floor(r() * 2)], Math.floor(r() * 65536)), bytes(Math.floor(r() * 500), r)]),
  },
];
