/**
 * The build-time record encoder with name compression. Pure: plain data in, Buffers out.
 *
 * Why our own encoder rather than dns2's: dns2 3.0 encodes invalid records silently (`300.1.1.1`
 * becomes 44.1.1.1, SRV port 70000 becomes 4464) and spends 90–160 µs per 3×A answer in its
 * bit-level writer (docs/dns.md). Answers here are encoded once per index build, with
 * every value checked, and copied verbatim into replies.
 */
import { CLASS_IN, TYPE, checkName, ipv4Bytes, ipv6Bytes, wireLength } from './wire';

/** Compression pointers are 14 bits: names written past this offset cannot be pointed to. */
const MAX_POINTER = 0x3fff;

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
    src.copy(this.buf, this.used, 0, len);
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
  private readonly names = new Map<string, number>();

  constructor(
    private readonly base: number,
    qname: string,
  ) {
    this.remember(qname, 12);
  }

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
        for (const v of [r.data.priority, r.data.weight, r.data.port]) checkU16(v);
        this.u16(r.data.priority);
        this.u16(r.data.weight);
        this.u16(r.data.port);
        // RFC 2782: the SRV target must not be compressed; it may still be pointed to later.
        this.name(r.data.target, false);
        break;
      case TYPE.SOA:
        this.name(r.data.mname, true);
        this.name(r.data.rname, true);
        for (const v of [r.data.serial, r.data.refresh, r.data.retry, r.data.expire, r.data.minimum]) {
          checkU32(v);
          this.u32(v);
        }
        break;
    }
    this.buf.writeUInt16BE(this.len - lenAt - 2, lenAt);
  }

  private name(name: string, compress: boolean): void {
    checkName(name);
    const lower = name.toLowerCase();
    for (let i = 0; i < name.length;) {
      const suffix = i === 0 ? lower : lower.substring(i);
      const at = this.names.get(suffix);
      if (compress && at !== undefined) {
        this.u16(0xc000 | at);
        return;
      }
      const offset = this.base + this.len;
      if (offset <= MAX_POINTER && at === undefined) this.names.set(suffix, offset);
      let dot = name.indexOf('.', i);
      if (dot < 0) dot = name.length;
      this.u8(dot - i);
      this.ensure(dot - i);
      this.len += this.buf.write(name.substring(i, dot), this.len, 'latin1');
      i = dot + 1;
    }
    this.u8(0);
  }

  private remember(name: string, offset: number): void {
    const lower = name.toLowerCase();
    for (let i = 0; i < name.length;) {
      this.names.set(i === 0 ? lower : lower.substring(i), offset + i);
      const dot = name.indexOf('.', i);
      if (dot < 0) break;
      i = dot + 1;
    }
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
    BodyWriter.shared = next;
  }
  private u8(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v;
  }
  private u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.len);
    this.len += 2;
  }
  private u32(v: number): void {
    this.ensure(4);
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

function checkU16(v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new Error(`not a 16-bit value: ${v}`);
}
function checkU32(v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`not a 32-bit value: ${v}`);
}
function checkTtl(v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) throw new Error(`bad TTL: ${v}`);
}
