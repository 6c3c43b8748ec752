/**
 * Query → reply bytes from an index (pure, synchronous, allocation-light). The reply is the
 * client's own header and question (its case kept) followed by a pre-encoded body.
 */
import type { DnsIndex, NameNode, ZoneInfo } from './build';
import { isRejection, parseQuery, type ParsedQuery } from './query';
import type { Encoded } from './encoder';
import { lookup } from './view';
import { CLASS_IN, RCODE, TYPE } from './wire';

export { lookup } from './view';

/** Largest UDP reply we send even if a client advertises more (DNS flag day 2020: no fragmentation). */
export const MAX_UDP = 1232;
const OPT_LENGTH = 11;
/** Bodies up to this size are copied byte by byte; larger ones (PTR sets, ANY) with memcpy. */
const SMALL_COPY = 256;
const BADVERS = 16;
const AXFR = 252;
const IXFR = 251;

/** ECS scope of the query being answered (-1: no Client Subnet option in the reply); set per query by `respond`. */
let scope = -1;

/** The environment view of a query whose EDNS Client Subnet chose it, and the scope to answer with (RFC 7871). */
export interface SubnetView {
  env: string;
  scope: number;
}

/** Picks the view from a query's Client Subnet option (`q.ecsFamily` ≠ 0); null keeps the source address's view. */
export type SubnetChooser = (q: ParsedQuery, msg: Buffer) => SubnetView | null;

export interface Outcome {
  /** What to send, or null to drop. */
  reply: Buffer | null;
  /** True when the name is outside our zones and forwarders are configured: the server forwards. */
  forward: boolean;
  qtype: number;
  rcode: number;
  /** Why a packet was dropped (metrics), when `reply` is null and not forwarding. */
  dropped?: string;
  /** An AXFR or IXFR of class IN over TCP, or an IXFR over UDP: the server answers it (src/dns/transfer.ts). */
  transfer?: boolean;
}

/**
 * Answers one query message. Never throws on any input. `udpCap` lowers the UDP size limit below
 * the client's (the amplification limit): the answer goes out without additional records, or
 * truncated, when it does not fit.
 */
export function respond(msg: Buffer, index: DnsIndex, env: string, tcp: boolean, canForward: boolean, udpCap = MAX_UDP, bySubnet?: SubnetChooser): Outcome {
  const q = parseQuery(msg, bySubnet !== undefined);
  if (isRejection(q)) {
    if (q.drop) return { reply: null, forward: false, qtype: -1, rcode: -1, dropped: 'malformed' };
    return { reply: headerOnly(msg, q.rcode), forward: false, qtype: -1, rcode: q.rcode };
  }
  const limit = tcp ? 0xffff : Math.min(q.ednsSize >= 0 ? Math.min(Math.max(q.ednsSize, 512), MAX_UDP) : 512, udpCap);
  scope = -1;
  if (q.ecsFamily !== 0 && bySubnet) {
    // Source prefix 0: the resolver sends no client subnet (RFC 7871 §7.1.2): the view of the query's source, scope 0.
    const view = q.ecsSource === 0 ? null : bySubnet(q, msg);
    if (view) env = view.env;
    scope = view ? view.scope : 0;
  }

  if (q.ednsSize >= 0 && q.ednsVersion !== 0) return out(msg, q, limit, BADVERS, false, null, null);
  if (q.qtype === TYPE.OPT) return out(msg, q, limit, RCODE.FORMERR, false, null, null);

  // Only class IN is served. Transfers are the server's (ACL, several messages); AXFR needs TCP (RFC 5936 §4.2).
  if (q.qclass !== CLASS_IN || (q.qtype === AXFR && !tcp)) return out(msg, q, limit, RCODE.REFUSED, false, null, null);
  if (q.qtype === AXFR || q.qtype === IXFR) return { reply: null, forward: false, qtype: q.qtype, rcode: -1, transfer: true };
  if (index.loaded) {
    const node = lookup(index, env, q.key);
    if (node) {
      const enc = pick(node, q.qtype);
      return enc
        ? out(msg, q, limit, RCODE.NOERROR, true, enc, null, enc.buf ?? node.buf)
        : out(msg, q, limit, RCODE.NOERROR, true, null, index.zones.get(node.zone) ?? null);
    }
  }
  const zone = findZone(index, q.key);
  // Before the first registry load we know nothing: SERVFAIL, never a cacheable negative.
  if (zone) return index.loaded ? out(msg, q, limit, RCODE.NXDOMAIN, true, null, zone) : out(msg, q, limit, RCODE.SERVFAIL, false, null, null);
  if (canForward) return { reply: null, forward: true, qtype: q.qtype, rcode: -1 };
  return out(msg, q, limit, RCODE.REFUSED, false, null, null);
}

function out(
  msg: Buffer,
  q: ParsedQuery,
  limit: number,
  rcode: number,
  aa: boolean,
  enc: Encoded | null,
  zone: ZoneInfo | null,
  buf: Buffer | null = null,
): Outcome {
  return { reply: build(msg, q, rcode, aa, enc, zone, limit, buf), forward: false, qtype: q.qtype, rcode };
}

/** The closest enclosing zone of a name key, or null. */
export function findZone(index: DnsIndex, key: string): ZoneInfo | null {
  for (let i = 0; i < key.length; i += key.charCodeAt(i) + 1) {
    const z = index.zones.get(i === 0 ? key : key.slice(i));
    if (z) return z;
  }
  return null;
}

function pick(node: NameNode, qtype: number): Encoded | undefined {
  switch (qtype) {
    case TYPE.A:
      return node.a;
    case TYPE.AAAA:
      return node.aaaa;
    case TYPE.SRV:
      return node.srv;
    case TYPE.PTR:
      return node.ptr;
    case TYPE.SOA:
      return node.soa;
    case TYPE.NS:
      return node.ns;
    case TYPE.ANY:
      return node.any;
    default:
      return undefined;
  }
}

/** Bytes of the OPT record in a reply to `q`: Client Subnet echoed with its scope when the view came from it. */
function optLength(q: ParsedQuery): number {
  if (q.ednsSize < 0) return 0;
  return scope >= 0 && q.ecsFamily !== 0 ? OPT_LENGTH + 8 + q.ecsLength : OPT_LENGTH;
}

/**
 * Header + question + body (+ OPT). With `zone` and no body, the authority section carries the
 * zone's SOA behind a pointer to the apex inside the question. Sets TC when it does not fit.
 */
function build(msg: Buffer, q: ParsedQuery, rcode: number, aa: boolean, enc: Encoded | null, zone: ZoneInfo | null, limit: number, buf: Buffer | null): Buffer {
  const opt = optLength(q);
  const authLen = zone ? 2 + zone.soaTail.length : 0;
  if (enc && q.end + enc.len + opt > limit && enc.lean) enc = enc.lean;
  let tc = false;
  if (q.end + (enc ? enc.len : authLen) + opt > limit) {
    tc = true;
    enc = null;
    zone = null;
  }
  const bodyLen = enc ? enc.len : zone ? authLen : 0;
  const out = Buffer.allocUnsafe(q.end + bodyLen + opt);
  // Byte loops rather than Buffer#copy: these copies are a few dozen bytes, and Node's copy makes
  // a view object per call (a measurable share of a query, docs/dns.md "Query path and memory layout").
  const end = q.end;
  for (let i = 0; i < end; i++) out[i] = msg[i];
  out[2] = 0x80 | (aa ? 0x04 : 0) | (tc ? 0x02 : 0) | (msg[2] & 0x01); // QR, AA, TC, RD copied
  out[3] = (rcode & 0x0f) | (msg[3] & 0x10); // CD copied (RFC 6840 §5.9), RA=0
  const an = enc ? enc.an : 0,
    ns = enc ? enc.ns : zone ? 1 : 0,
    ar = (enc ? enc.ar : 0) + (opt ? 1 : 0);
  out[4] = 0;
  out[5] = 1;
  out[6] = an >> 8;
  out[7] = an & 0xff;
  out[8] = ns >> 8;
  out[9] = ns & 0xff;
  out[10] = ar >> 8;
  out[11] = ar & 0xff;
  let p = end;
  if (enc && enc.len > SMALL_COPY) p += buf!.copy(out, p, enc.off, enc.off + enc.len);
  else if (enc) {
    const src = buf!;
    for (let i = enc.off, stop = enc.off + enc.len; i < stop; i++) out[p++] = src[i];
  } else if (zone) {
    const ptr = 0xc000 | (12 + q.nameLength - zone.nameLength);
    out[p] = ptr >> 8;
    out[p + 1] = ptr & 0xff;
    p += 2;
    const tail = zone.soaTail;
    for (let i = 0; i < tail.length; i++) out[p++] = tail[i];
  }
  if (opt) writeOpt(out, p, msg, q, rcode, opt);
  return out;
}

/**
 * The reply's OPT record at `p`. DO is echoed (RFC 3225 §3: a server copies it; berth signs
 * nothing, so the answer carries no RRSIGs either way). Client Subnet, when it chose the view,
 * comes back with the client's family, source prefix and address and berth's scope (RFC 7871 §7.2.1).
 */
function writeOpt(out: Buffer, p: number, msg: Buffer, q: ParsedQuery, rcode: number, length: number): void {
  out[p] = 0;
  out.writeUInt16BE(TYPE.OPT, p + 1);
  out.writeUInt16BE(MAX_UDP, p + 3);
  out[p + 5] = rcode >> 4; // extended RCODE (BADVERS)
  out[p + 6] = 0; // version 0
  out.writeUInt16BE(q.dnssecOk ? 0x8000 : 0, p + 7);
  out.writeUInt16BE(length - OPT_LENGTH, p + 9);
  if (length === OPT_LENGTH) return;
  out.writeUInt16BE(8, p + 11);
  out.writeUInt16BE(4 + q.ecsLength, p + 13);
  out.writeUInt16BE(q.ecsFamily, p + 15);
  out[p + 17] = q.ecsSource;
  out[p + 18] = scope;
  msg.copy(out, p + 19, q.ecsAt, q.ecsAt + q.ecsLength);
}

/** A 12-byte reply (FORMERR, NOTIMP) when the question could not be read: id and opcode echoed. */
function headerOnly(msg: Buffer, rcode: number): Buffer {
  const out = Buffer.alloc(12);
  out[0] = msg[0];
  out[1] = msg[1];
  out[2] = 0x80 | (msg[2] & 0x79); // QR + opcode + RD
  out[3] = rcode;
  return out;
}

/** A reply with only header and question and the given RCODE (SERVFAIL when forwarding failed). */
export function rcodeReply(msg: Buffer, rcode: number, tcp: boolean): Buffer | null {
  const q = parseQuery(msg);
  if (isRejection(q)) return null;
  scope = -1;
  return build(msg, q, rcode, false, null, null, tcp ? 0xffff : 512, null);
}
