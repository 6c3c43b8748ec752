/**
 * The record encoder with name compression. Pure: plain data in, Buffers out.
 *
 * Why our own encoder rather than dns2's: dns2 3.0 encodes invalid records silently (`300.1.1.1`
 * becomes 44.1.1.1, SRV port 70000 becomes 4464) and spends 90–160 µs per 3×A answer in its
 * bit-level writer (docs/dns.md). Answers here are encoded once (an app's names at
 * the first question for any of them), with every value checked, and copied verbatim into replies.
 */
import { CLASS_IN, TYPE, checkName, ipv4Bytes, ipv6Bytes, wireLength } from './wire';

/** Compression pointers are 14 bits: names written past this offset cannot be pointed to. */
const MAX_POINTER = 0x3fff;

/** Suffixes a body searches one by one; past this many (a zone transfer's bodies), a Map. */
const SUFFIX_SCAN_MAX = 48;

/** True when `a` from `i` and `b` from `j` hold the same `len` characters. */
function sameText(a: string, i: number, b: string, j: number, len: number): boolean {
  for (let k = 0; k < len; k++) if (a.charCodeAt(i + k) !== b.charCodeAt(j + k)) return false;
  return true;
}

/** Pre-encoded records for one (name, type): `arena[off, off+len)` is copied after the question of a reply. */
export interface Encoded {
  off: number;
  len: number;
  an: number;
  ns: number;
  ar: number;
  /** The same answer without the additional section, used when the full body would not fit. */
  lean?: Encoded;
  /** The bytes, when not the node's own `buf` (an apex reusing an app's encoded records). */
  buf?: Buffer;
}

/**
 * Append-only byte store for one index build: every body lives in one Buffer, so an index of 100k
 * answers costs 100k small objects rather than 100k Buffers.
 */
export class Arena {
  /** Working space shared by arenas that do not overlap (they almost never do: encode, then seal). */
  private static scratch: Buffer | null = Buffer.allocUnsafeSlow(16384);
  private buf: Buffer;
  private used = 0;

  constructor(initial = 512) {
    this.buf = Arena.scratch ?? Buffer.allocUnsafeSlow(initial);
    Arena.scratch = null;
  }

  append(src: Buffer, len: number): number {
    if (this.used + len > this.buf.length) {
      const next = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.used + len));
      this.buf.copy(next, 0, 0, this.used);
      this.buf = next;
    }
    // Bodies are tens of bytes: a loop beats Buffer#copy's argument checks and native call.
    if (len <= 64) for (let i = 0; i < len; i++) this.buf[this.used + i] = src[i];
    else src.copy(this.buf, this.used, 0, len);
    this.used += len;
    return this.used - len;
  }

  /**
   * The bytes as one exact-size Buffer of its own; the arena must not be used afterwards. Not from
   * Node's shared 8 KB pool: an index keeps these for as long as an app is unchanged, and one live
   * slice would pin a whole pool slab, dead neighbours included (the index of 10,000 apps held
   * three times its bytes that way).
   */
  seal(): Buffer {
    const out = Buffer.allocUnsafeSlow(this.used);
    this.buf.copy(out, 0, 0, this.used);
    if (Arena.scratch === null && this.buf.length <= 65536) Arena.scratch = this.buf;
    return out;
  }
}

export interface SrvData {
  priority: number;
  weight: number;
  port: number;
  target: string;
}
export interface SoaData {
  mname: string;
  rname: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}

/** One resource record to encode; `data` is checked against the type. */
export type RecordData =
  | { type: typeof TYPE.A; data: string }
  | { type: typeof TYPE.AAAA; data: string }
  | { type: typeof TYPE.NS; data: string }
  | { type: typeof TYPE.PTR; data: string }
  | { type: typeof TYPE.SRV; data: SrvData }
  | { type: typeof TYPE.SOA; data: SoaData };

export interface Rr {
  name: string;
  ttl: number;
  rec: RecordData;
}

/**
 * Writes one message body with name compression. `base` is where the body starts in the final
 * reply (12 + question length); the question name sits at offset 12, so every name that shares a
 * suffix with it compresses to a pointer into the client's own question (keeping its case).
 */
export class BodyWriter {
  private static shared = Buffer.alloc(4096);
  private buf = BodyWriter.shared;
  private len = 0;
  /**
   * Name suffixes written so far (compression targets), in the order written: the lowercase name,
   * where the suffix starts in it, and its offset in the reply. Filled on first need (most bodies
   * point only at the question) and searched in place, without a substring per label; a body
   * with many names (a zone transfer) moves them into `names`.
   */
  private readonly sufName: string[] = [];
  private readonly sufAt: number[] = [];
  private readonly sufOff: number[] = [];
  private started = false;
  /** Suffix → offset, once the lists above grew past SUFFIX_SCAN_MAX. */
  private names: Map<string, number> | null = null;
  /** The question name once checked: an owner equal to it is the pointer to offset 12 without a lookup. */
  private qnameChecked = false;

  constructor(
    private readonly base: number,
    private readonly qname: string,
  ) {}

  /** Bytes written so far; valid until the next writer is created. */
  get bytesWritten(): number {
    return this.len;
  }

  /** Writes resource records; returns how many were written. */
  records(rrs: readonly Rr[]): number {
    for (const rr of rrs) this.record(rr);
    return rrs.length;
  }

  /** The bytes written so far, as a compact standalone Buffer. */
  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len));
  }

  /** Moves the bytes written so far into `arena`; returns their offset there. */
  flushTo(arena: Arena): number {
    return arena.append(this.buf, this.len);
  }

  private record(rr: Rr): void {
    checkTtl(rr.ttl);
    this.name(rr.name, true);
    this.ensure(10);
    this.u16(rr.rec.type);
    this.u16(CLASS_IN);
    this.u32(rr.ttl);
    const lenAt = this.len;
    this.u16(0);
    const r = rr.rec;
    switch (r.type) {
      case TYPE.A:
        this.bytes(ipv4Bytes(r.data));
        break;
      case TYPE.AAAA:
        this.bytes(ipv6Bytes(r.data));
        break;
      case TYPE.NS:
      case TYPE.PTR:
        this.name(r.data, true);
        break;
      case TYPE.SRV:
        checkU16(r.data.priority);
        checkU16(r.data.weight);
        checkU16(r.data.port);
        this.ensure(6);
        this.u16(r.data.priority);
        this.u16(r.data.weight);
        this.u16(r.data.port);
        // RFC 2782: the SRV target must not be compressed; it may still be pointed to later.
        this.name(r.data.target, false);
        break;
      case TYPE.SOA:
        this.name(r.data.mname, true);
        this.name(r.data.rname, true);
        this.ensure(20);
        for (const v of [r.data.serial, r.data.refresh, r.data.retry, r.data.expire, r.data.minimum]) {
          checkU32(v);
          this.u32(v);
        }
        break;
    }
    this.buf.writeUInt16BE(this.len - lenAt - 2, lenAt);
  }

  private name(name: string, compress: boolean): void {
    // Owners are almost always the question itself: the same pointer the suffix table would give.
    if (compress && name === this.qname && name !== '') {
      if (!this.qnameChecked) checkName(name);
      this.qnameChecked = true;
      this.ensure(2);
      this.u16(0xc00c);
      return;
    }
    checkName(name);
    if (!this.started) this.questionSuffixes();
    const lower = name.toLowerCase();
    this.ensure(name.length + 2);
    for (let i = 0; i < name.length;) {
      const at = this.find(lower, i);
      if (compress && at !== undefined) {
        this.u16(0xc000 | at);
        return;
      }
      const offset = this.base + this.len;
      if (offset <= MAX_POINTER && at === undefined) this.remember(lower, i, offset);
      let dot = name.indexOf('.', i);
      if (dot < 0) dot = name.length;
      // checkName admits printable ASCII only: each character is its byte.
      this.buf[this.len++] = dot - i;
      for (let j = i; j < dot; j++) this.buf[this.len++] = name.charCodeAt(j);
      i = dot + 1;
    }
    this.buf[this.len++] = 0;
  }

  /** Every suffix of the question name at its offset in the reply. */
  private questionSuffixes(): void {
    this.started = true;
    const q = this.qname;
    const lower = q.toLowerCase();
    for (let i = 0; i < q.length;) {
      this.remember(lower, i, 12 + i);
      const dot = q.indexOf('.', i);
      if (dot < 0) break;
      i = dot + 1;
    }
  }

  /** The offset of the first suffix written equal to `lower` from `i`. */
  private find(lower: string, i: number): number | undefined {
    if (this.names) return this.names.get(i === 0 ? lower : lower.substring(i));
    const len = lower.length - i;
    for (let k = 0; k < this.sufName.length; k++) {
      const s = this.sufName[k];
      const at = this.sufAt[k];
      if (s.length - at === len && sameText(s, at, lower, i, len)) return this.sufOff[k];
    }
    return undefined;
  }

  /** Records a suffix not written before. */
  private remember(lower: string, i: number, offset: number): void {
    if (this.names) {
      this.names.set(i === 0 ? lower : lower.substring(i), offset);
      return;
    }
    this.sufName.push(lower);
    this.sufAt.push(i);
    this.sufOff.push(offset);
    if (this.sufName.length <= SUFFIX_SCAN_MAX) return;
    this.names = new Map();
    for (let k = 0; k < this.sufName.length; k++) this.names.set(this.sufName[k].substring(this.sufAt[k]), this.sufOff[k]);
  }

  /** Room for `n` more bytes; the u16/u32 writers below and the label loop in `name` assume it was made. */
  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
    BodyWriter.shared = next;
  }
  private u16(v: number): void {
    this.buf[this.len++] = v >>> 8;
    this.buf[this.len++] = v & 0xff;
  }
  private u32(v: number): void {
    this.buf.writeUInt32BE(v, this.len);
    this.len += 4;
  }
  private bytes(b: number[]): void {
    this.ensure(b.length);
    for (const x of b) this.buf[this.len++] = x;
  }
}

/**
 * Encodes the answer (and optional authority/additional) sections for a question `qname`; the
 * result is only valid after a question of exactly that name (any case).
 */
export function encodeSections(arena: Arena, qname: string, answers: readonly Rr[], authority: readonly Rr[] = [], additional: readonly Rr[] = []): Encoded {
  const base = 12 + wireLength(qname) + 4;
  const w = new BodyWriter(base, qname);
  const an = w.records(answers);
  const ns = w.records(authority);
  const leanLen = w.bytesWritten;
  const ar = w.records(additional);
  const len = w.bytesWritten;
  const full: Encoded = { off: w.flushTo(arena), len, an, ns, ar };
  // The additional section comes last, so the lean body is a prefix of the full one.
  if (ar > 0) full.lean = { off: full.off, len: leanLen, an, ns, ar: 0 };
  return full;
}

/**
 * The SOA record's bytes after its owner name (type … rdata), with uncompressed names: used in the
 * authority section of NXDOMAIN/NODATA replies, behind a pointer to the apex inside the question.
 */
export function encodeSoaTail(ttl: number, soa: SoaData): Buffer {
  const w = new BodyWriter(0x4000, ''); // base past the pointer range: nothing gets compressed
  w.records([{ name: '', ttl, rec: { type: TYPE.SOA, data: soa } }]);
  return w.finish().subarray(1); // drop the root owner byte
}

/** Throws unless `v` fits a 16-bit field (an SRV port). */
export function checkU16(v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new Error(`not a 16-bit value: ${v}`);
}
function checkU32(v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`not a 32-bit value: ${v}`);
}
/** Throws unless `v` is a TTL the encoder accepts. */
export function checkTtl(v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) throw new Error(`bad TTL: ${v}`);
}
