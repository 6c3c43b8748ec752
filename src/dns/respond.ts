/**
 * Query → reply bytes from an index (pure, synchronous, allocation-light). The reply is the
 * client's own header and question (its case kept) followed by a pre-encoded body.
 */
import type { DnsIndex, NameNode, ZoneInfo } from './build';
import { isRejection, parseQuery, type ParsedQuery } from './query';
import type { Encoded } from './encoder';
import { CLASS_IN, RCODE, TYPE } from './wire';

/** Largest UDP reply we send even if a client advertises more (DNS flag day 2020: no fragmentation). */
export const MAX_UDP = 1232;
const OPT_LENGTH = 11;
const BADVERS = 16;

export interface Outcome {
  /** What to send, or null to drop. */
  reply: Buffer | null;
  /** True when the name is outside our zones and forwarders are configured: the server forwards. */
  forward: boolean;
  qtype: number;
  rcode: number;
  /** Why a packet was dropped (metrics), when `reply` is null and not forwarding. */
  dropped?: string;
}

/**
 * Answers one query message. Never throws on any input. `udpCap` lowers the UDP size limit below
 * the client's (the amplification limit): the answer goes out without additional records, or
 * truncated, when it does not fit.
 */
export function respond(msg: Buffer, index: DnsIndex, env: string, tcp: boolean, canForward: boolean, udpCap = MAX_UDP): Outcome {
  const q = parseQuery(msg);
  if (isRejection(q)) {
    if (q.drop) return { reply: null, forward: false, qtype: -1, rcode: -1, dropped: 'malformed' };
    return { reply: headerOnly(msg, q.rcode), forward: false, qtype: -1, rcode: q.rcode };
  }
  const limit = tcp ? 0xffff : Math.min(q.ednsSize >= 0 ? Math.min(Math.max(q.ednsSize, 512), MAX_UDP) : 512, udpCap);

  if (q.ednsSize >= 0 && q.ednsVersion !== 0) return out(msg, q, limit, BADVERS, false, null, null);
  if (q.qtype === TYPE.OPT) return out(msg, q, limit, RCODE.FORMERR, false, null, null);

  // Only class IN is served, and no zone transfers.
  if (q.qclass !== CLASS_IN || q.qtype === 251 || q.qtype === 252) return out(msg, q, limit, RCODE.REFUSED, false, null, null);
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

/** The node answering `key` for a client of `env`: its own defined names first, then the default env. */
export function lookup(index: DnsIndex, env: string, key: string): NameNode | undefined {
  if (env === index.defaultEnv) return index.envs.get(env)?.get(key);
  const own = index.envs.get(env)?.get(key);
  if (own && own.defined) return own;
  const fallback = index.envs.get(index.defaultEnv)?.get(key);
  return fallback && (fallback.defined || !own) ? fallback : own;
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

/**
 * Header + question + body (+ OPT). With `zone` and no body, the authority section carries the
 * zone's SOA behind a pointer to the apex inside the question. Sets TC when it does not fit.
 */
function build(msg: Buffer, q: ParsedQuery, rcode: number, aa: boolean, enc: Encoded | null, zone: ZoneInfo | null, limit: number, buf: Buffer | null): Buffer {
  const opt = q.ednsSize >= 0 ? OPT_LENGTH : 0;
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
  msg.copy(out, 0, 0, q.end);
  out[2] = 0x80 | (aa ? 0x04 : 0) | (tc ? 0x02 : 0) | (msg[2] & 0x01); // QR, AA, TC, RD copied
  out[3] = (rcode & 0x0f) | (msg[3] & 0x10); // CD copied (RFC 6840 §5.9), RA=0
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(enc ? enc.an : 0, 6);
  out.writeUInt16BE(enc ? enc.ns : zone ? 1 : 0, 8);
  out.writeUInt16BE((enc ? enc.ar : 0) + (opt ? 1 : 0), 10);
  let p = q.end;
  if (enc) p += buf!.copy(out, p, enc.off, enc.off + enc.len);
  else if (zone) {
    out.writeUInt16BE(0xc000 | (12 + q.nameLength - zone.nameLength), p);
    p += 2 + zone.soaTail.copy(out, p + 2);
  }
  if (opt) {
    out[p] = 0;
    out.writeUInt16BE(TYPE.OPT, p + 1);
    out.writeUInt16BE(MAX_UDP, p + 3);
    out[p + 5] = rcode >> 4; // extended RCODE (BADVERS)
    out[p + 6] = 0; // version 0
    out.writeUInt16BE(0, p + 7); // no DO: no DNSSEC
    out.writeUInt16BE(0, p + 9);
  }
  return out;
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
  return build(msg, q, rcode, false, null, null, tcp ? 0xffff : 512, null);
}
