/**
 * The guarded query parser: the only code that reads client bytes. It makes one bounded pass over
 * the question and the records a query may carry (the client's SOA in the authority section of an
 * IXFR, OPT and others in the additional section), never throws and never trusts a section count
 * — dns2's parser loops over counts of 65,535 and stalls for seconds (docs/dns.md).
 */
import { RCODE, TYPE } from './wire';

/** Records a query may carry in its authority and additional sections together (more: FORMERR). */
export const MAX_EXTRA_RECORDS = 16;
/** Largest query message read (a question, an IXFR SOA, OPT and a TSIG fit many times over). */
export const MAX_QUERY_BYTES = 4096;

/** EDNS option code of Client Subnet (RFC 7871). */
const OPT_ECS = 8;
const TYPE_IXFR = 251;

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
  /** The OPT record's DO bit (RFC 3225), echoed in the reply. */
  dnssecOk: boolean;
  /** The client's SOA serial of an IXFR question (RFC 1995), -1 otherwise. */
  ixfrSerial: number;
  /** EDNS Client Subnet (only read when asked to): family 1 or 2, 0 without the option. */
  ecsFamily: number;
  ecsSource: number;
  /** Offset of the ECS address bytes in the message, and their count (ceil(source / 8)). */
  ecsAt: number;
  ecsLength: number;
}

/** Why a packet gets no normal answer: drop it silently, or reply with this RCODE. */
export type Rejection = { drop: true } | { drop: false; rcode: number };

const DROP: Rejection = { drop: true };
const FORMERR: Rejection = { drop: false, rcode: RCODE.FORMERR };
const NOTIMP: Rejection = { drop: false, rcode: RCODE.NOTIMP };

// Scratch space for lowercasing a name: a name is at most 255 bytes on the wire.
const scratch = Buffer.alloc(256);

const parsed: ParsedQuery = {
  id: 0,
  key: '',
  nameLength: 0,
  end: 0,
  qtype: 0,
  qclass: 0,
  ednsSize: -1,
  ednsVersion: 0,
  dnssecOk: false,
  ixfrSerial: -1,
  ecsFamily: 0,
  ecsSource: 0,
  ecsAt: 0,
  ecsLength: 0,
};

/**
 * Parses one query message. Returns the question (valid until the next call), or how to reject the
 * packet. With `ecs`, an EDNS Client Subnet option is read and a malformed one is FORMERR (RFC 7871
 * §7.1.1); without, the option is skipped like any other.
 */
export function parseQuery(msg: Buffer, ecs = false): ParsedQuery | Rejection {
  if (msg.length < 12) return DROP; // not even a header to answer with
  const flags = msg[2];
  if (flags & 0x80) return DROP; // QR=1: a response; answering it could loop two servers
  if (((flags >> 3) & 0x0f) !== 0) return NOTIMP; // only QUERY
  const qd = msg.readUInt16BE(4),
    an = msg.readUInt16BE(6),
    ns = msg.readUInt16BE(8),
    ar = msg.readUInt16BE(10);
  // A query has one question and no answers; authority and additional records are read below.
  if (qd !== 1 || an !== 0 || ns + ar > MAX_EXTRA_RECORDS || msg.length > MAX_QUERY_BYTES) return FORMERR;

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

  const q = parsed; // one object reused for every query (the caller is synchronous): no garbage per packet
  q.ednsSize = -1;
  q.ednsVersion = 0;
  q.dnssecOk = false;
  q.ixfrSerial = -1;
  q.ecsFamily = 0;
  q.ecsSource = 0;
  q.ecsAt = 0;
  q.ecsLength = 0;
  p = end;
  for (let i = 0; i < ns + ar; i++) {
    const start = p;
    p = skipName(msg, p);
    if (p < 0 || p + 10 > msg.length) return FORMERR;
    const type = msg.readUInt16BE(p);
    const rdlen = msg.readUInt16BE(p + 8);
    const rdata = p + 10;
    if (rdata + rdlen > msg.length) return FORMERR;
    p = rdata + rdlen;
    if (i < ns) {
      // RFC 1995 §3: an IXFR carries the client's SOA here; other queries have no use for these records.
      if (qtype === TYPE_IXFR && type === TYPE.SOA && q.ixfrSerial < 0) {
        if (rdlen < 22) return FORMERR; // two names (≥ 1 byte each) and five 32-bit fields
        q.ixfrSerial = msg.readUInt32BE(p - 20);
      }
      continue;
    }
    if (type !== TYPE.OPT) continue; // TSIG and others: read past (berth signs nothing)
    // One OPT, owned by the root (RFC 6891 §6.1.1).
    if (q.ednsSize >= 0 || msg[start] !== 0 || start + 1 !== rdata - 10) return FORMERR;
    q.ednsSize = msg.readUInt16BE(rdata - 8);
    q.ednsVersion = msg[rdata - 5];
    q.dnssecOk = (msg[rdata - 4] & 0x80) !== 0;
    if (!readOptions(msg, rdata, rdlen, ecs, q)) return FORMERR;
  }
  if (qtype === TYPE_IXFR && q.ixfrSerial < 0) return FORMERR; // RFC 1995 §3: the SOA is required

  q.id = msg.readUInt16BE(0);
  q.key = scratch.toString('latin1', 0, n);
  q.nameLength = nameLength;
  q.end = end;
  q.qtype = qtype;
  q.qclass = qclass;
  return q;
}

/** True when `parseQuery` rejected the packet. */
export function isRejection(r: ParsedQuery | Rejection): r is Rejection {
  return (r as Rejection).drop !== undefined;
}

/**
 * Offset past a record's owner name, or -1 when malformed. A compression pointer ends the name and
 * must point backwards (it is not followed: owners of these records are never looked up).
 */
function skipName(msg: Buffer, p: number): number {
  for (let total = 0; ;) {
    if (p >= msg.length) return -1;
    const len = msg[p];
    if (len === 0) return p + 1;
    if ((len & 0xc0) === 0xc0) {
      if (p + 2 > msg.length || (((len & 0x3f) << 8) | msg[p + 1]) >= p) return -1;
      return p + 2;
    }
    if (len > 63) return -1;
    total += len + 1;
    if (total > 254) return -1;
    p += 1 + len;
  }
}

/** Walks the options of an OPT record; false when one overruns it or (with `ecs`) Client Subnet is malformed. */
function readOptions(msg: Buffer, at: number, rdlen: number, ecs: boolean, q: ParsedQuery): boolean {
  const stop = at + rdlen;
  for (let p = at; p < stop;) {
    if (p + 4 > stop) return false;
    const code = msg.readUInt16BE(p),
      len = msg.readUInt16BE(p + 2);
    const data = p + 4;
    if (data + len > stop) return false;
    p = data + len;
    if (code !== OPT_ECS || !ecs) continue;
    if (q.ecsFamily !== 0 || !validEcs(msg, data, len)) return false;
    q.ecsFamily = msg.readUInt16BE(data);
    q.ecsSource = msg[data + 2];
    q.ecsAt = data + 4;
    q.ecsLength = len - 4;
  }
  return true;
}

/**
 * RFC 7871 §6 and §7.1.1: family 1 (IPv4) or 2 (IPv6), a source prefix within the family's length,
 * exactly ceil(source / 8) address bytes with every bit past the prefix zero, and scope 0 in a query.
 */
function validEcs(msg: Buffer, data: number, len: number): boolean {
  if (len < 4) return false;
  const family = msg.readUInt16BE(data),
    source = msg[data + 2],
    scope = msg[data + 3];
  const bits = family === 1 ? 32 : family === 2 ? 128 : -1;
  if (bits < 0 || source > bits || scope !== 0 || len - 4 !== (source + 7) >> 3) return false;
  const rest = source & 7;
  return rest === 0 || (msg[data + 4 + (source >> 3)] & (0xff >> rest)) === 0;
}
