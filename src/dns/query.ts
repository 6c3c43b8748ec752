/**
 * The guarded question parser: the only code that reads client bytes. It makes one bounded pass
 * (at most 255 name bytes plus one OPT record), never throws and never trusts a section count —
 * dns2's parser loops over counts of 65,535 and stalls for seconds (docs/dns.md).
 */
import { RCODE, TYPE } from './wire';

export interface ParsedQuery {
  id: number;
  /** Lowercased name key (see `nameKey`), built straight from the packet bytes. */
  key: string;
  /** Wire length of the question name including its zero byte. */
  nameLength: number;
  /** Offset just past the question (12 + nameLength + 4): the reply copies bytes [0, end). */
  end: number;
  qtype: number;
  qclass: number;
  /** EDNS(0): the client's advertised UDP size, or -1 without an OPT record. */
  ednsSize: number;
  ednsVersion: number;
}

/** Why a packet gets no normal answer: drop it silently, or reply with this RCODE. */
export type Rejection = { drop: true } | { drop: false; rcode: number };

const DROP: Rejection = { drop: true };
const FORMERR: Rejection = { drop: false, rcode: RCODE.FORMERR };
const NOTIMP: Rejection = { drop: false, rcode: RCODE.NOTIMP };

// Scratch space for lowercasing a name: a name is at most 255 bytes on the wire.
const scratch = Buffer.alloc(256);

const parsed: ParsedQuery = { id: 0, key: '', nameLength: 0, end: 0, qtype: 0, qclass: 0, ednsSize: -1, ednsVersion: 0 };

/** Parses one query message. Returns the question (valid until the next call), or how to reject the packet. */
export function parseQuery(msg: Buffer): ParsedQuery | Rejection {
  if (msg.length < 12) return DROP; // not even a header to answer with
  const flags = msg[2];
  if (flags & 0x80) return DROP; // QR=1: a response; answering it could loop two servers
  if (((flags >> 3) & 0x0f) !== 0) return NOTIMP; // only QUERY
  const qd = msg.readUInt16BE(4),
    an = msg.readUInt16BE(6),
    ns = msg.readUInt16BE(8),
    ar = msg.readUInt16BE(10);
  if (qd !== 1 || an !== 0 || ns !== 0 || ar > 1) return FORMERR;

  let p = 12;
  let n = 0;
  for (;;) {
    if (p >= msg.length) return FORMERR;
    const len = msg[p];
    if (len === 0) break;
    if (len > 63) return FORMERR; // compression pointers (no earlier name to point to) and reserved label types
    if (p + 1 + len > msg.length || n + 1 + len > 254) return FORMERR;
    scratch[n++] = len;
    for (let i = 1; i <= len; i++) {
      const c = msg[p + i];
      scratch[n++] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
    }
    p += 1 + len;
  }
  const nameLength = p - 12 + 1;
  p += 1;
  if (p + 4 > msg.length) return FORMERR;
  const qtype = msg.readUInt16BE(p),
    qclass = msg.readUInt16BE(p + 2);
  const end = p + 4;

  let ednsSize = -1,
    ednsVersion = 0;
  if (ar === 1) {
    // The only additional record a query may carry here is OPT at the root (RFC 6891 §6.1.1).
    if (end + 11 > msg.length || msg[end] !== 0 || msg.readUInt16BE(end + 1) !== TYPE.OPT) return FORMERR;
    const rdlen = msg.readUInt16BE(end + 9);
    if (end + 11 + rdlen > msg.length) return FORMERR;
    ednsSize = msg.readUInt16BE(end + 3);
    ednsVersion = msg[end + 6];
  }
  // One object reused for every query (the caller is synchronous): no garbage per packet.
  const q = parsed;
  q.id = msg.readUInt16BE(0);
  q.key = scratch.toString('latin1', 0, n);
  q.nameLength = nameLength;
  q.end = end;
  q.qtype = qtype;
  q.qclass = qclass;
  q.ednsSize = ednsSize;
  q.ednsVersion = ednsVersion;
  return q;
}

/** True when `parseQuery` rejected the packet. */
export function isRejection(r: ParsedQuery | Rejection): r is Rejection {
  return (r as Rejection).drop !== undefined;
}
