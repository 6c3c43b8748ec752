/** Seeded generator of hostile DNS packets: random bytes and mutated valid queries (for the fuzz test). */
import { query } from './helpers';
import { prng } from '../support/prng';

export { prng };

const NAMES = ['svc1.berth.internal', 'big.berth.internal', 'nosuch.berth.internal', 'berth.internal', '1.1.1.10.in-addr.arpa', 'example.com', ''];
const TYPES = [1, 28, 33, 12, 6, 2, 255, 16, 252, 41, 0, 65535];

/** Packet number `i` of the stream produced by `rnd`. Every kind the issue lists appears. */
export function fuzzPacket(rnd: () => number, i: number): Buffer {
  const int = (n: number) => Math.floor(rnd() * n);
  const base = () => query(NAMES[int(NAMES.length)], TYPES[int(TYPES.length)], { id: i & 0xffff, edns: rnd() < 0.3 ? int(70000) & 0xffff : undefined });
  switch (i % 10) {
    case 0: {
      // fully random bytes, any counts
      const b = Buffer.alloc(int(600));
      for (let k = 0; k < b.length; k++) b[k] = int(256);
      return b;
    }
    case 1: {
      // truncated at a random point
      const b = base();
      return b.subarray(0, int(b.length));
    }
    case 2: {
      // section counts of 65,535 (or random)
      const b = base();
      for (let o = 4; o < 12; o += 2) if (rnd() < 0.5) b.writeUInt16BE(rnd() < 0.5 ? 0xffff : int(65536), o);
      return b;
    }
    case 3: {
      // compression pointers: loops, forward and out-of-range targets
      const b = base();
      const at = 12 + int(Math.max(1, b.length - 13));
      b[at] = 0xc0 | int(64);
      if (at + 1 < b.length) b[at + 1] = rnd() < 0.5 ? at & 0xff : int(256);
      return b;
    }
    case 4: {
      // QR=1 responses and every opcode
      const b = base();
      b[2] = (rnd() < 0.5 ? 0x80 : 0) | (int(16) << 3) | int(8);
      return b;
    }
    case 5: {
      // bad label lengths
      const b = base();
      if (b.length > 12) b[12 + int(b.length - 12)] = 0x40 + int(192);
      return b;
    }
    case 6: {
      // random bit flips
      const b = base();
      for (let k = 0, n = 1 + int(8); k < n; k++) b[int(b.length)] ^= 1 << int(8);
      return b;
    }
    case 7: {
      // trailing garbage and bogus OPT records
      const extra = Buffer.alloc(int(40));
      for (let k = 0; k < extra.length; k++) extra[k] = int(256);
      const b = Buffer.concat([base(), extra]);
      if (rnd() < 0.5) b.writeUInt16BE(1 + int(3), 10);
      return b;
    }
    default: // valid queries (mixed case) keep the stream realistic
      return query(
        NAMES[int(NAMES.length)].replace(/[a-z]/g, (c) => (rnd() < 0.5 ? c.toUpperCase() : c)),
        TYPES[int(6)],
        { id: i & 0xffff },
      );
  }
}
