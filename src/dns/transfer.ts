/**
 * Zone transfers: AXFR (RFC 5936) and IXFR (RFC 1995) of every zone berth serves, to the clients
 * `BERTH_DNS_TRANSFER_ALLOW` lets in. The zone is the view of the client's environment, chosen by
 * its address exactly as for queries (src/dns/client-env.ts), so a secondary in a feature
 * environment's network serves that environment's answers.
 *
 * IXFR is answered incrementally from the versions of the zone berth has transferred before: a
 * secondary only ever holds a version it was sent, so those are the ones worth keeping (bounded,
 * `TransferHistory`). A serial berth no longer has gets the whole zone (RFC 1995 §4 allows that).
 */
import ipaddr from 'ipaddr.js';
import type { DnsIndex } from './build';
import { BodyWriter, type Rr } from './encoder';
import { isRejection, parseQuery } from './query';
import { serialNewer, zoneVersionSteps, type ZoneVersion } from './zone-content';
import { RCODE, TYPE } from './wire';
import { runSliced } from '../slices';

const AXFR = 252;
const NOTAUTH = 9;
/** Body bytes after which a transfer message is closed; a record adds at most ~600, well inside 65,535. */
const MESSAGE_BODY = 16_000;
/** Versions kept per zone and view, and records kept across all of them. */
export const HISTORY_VERSIONS = 8;
export const HISTORY_RECORDS = 500_000;

/** Why a transfer ended as it did (metrics label). */
export type TransferResult = 'axfr' | 'ixfr' | 'ixfr_full' | 'ixfr_current' | 'refused' | 'busy' | 'notauth' | 'servfail';

export interface TransferReply {
  result: TransferResult;
  qtype: number;
  /** One message (refusals, UDP), or the messages of a TCP transfer, produced as they are sent. */
  messages: Iterator<Buffer>;
}

/** Who may transfer: a list of CIDRs (empty: nobody). */
export class TransferAcl {
  private readonly ranges: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]>;

  constructor(cidrs: readonly string[]) {
    this.ranges = cidrs.map((c) => ipaddr.parseCIDR(c));
  }

  allows(address: string): boolean {
    if (this.ranges.length === 0) return false;
    let addr: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      addr = ipaddr.process(address.split('%')[0]);
    } catch {
      return false;
    }
    return this.ranges.some(([net, prefix]) => net.kind() === addr.kind() && addr.match(net, prefix));
  }
}

/**
 * The last versions of each zone view that were transferred, for incremental answers. A serial can
 * stand for two contents: a patch shows a change at once but raises the serial up to a second later
 * (docs/dns.md "Zones"), and a transfer in between sends the new content under the old serial. Such
 * a serial is marked ambiguous and never used as the base of a difference: the client holding it
 * gets the whole zone, which is right whichever content it holds.
 */
export class TransferHistory {
  private readonly byZone = new Map<string, ZoneVersion[]>();
  private readonly ambiguous = new Map<string, Set<number>>();
  private records = 0;

  /** Remembers `v` as transferred to a client of `env`. */
  keep(env: string, v: ZoneVersion): void {
    const id = `${env} ${v.zone}`;
    let list = this.byZone.get(id);
    if (!list) this.byZone.set(id, (list = []));
    const same = list.find((x) => x.serial === v.serial);
    if (same) {
      if (!sameKeys(same.keys, v.keys)) {
        let set = this.ambiguous.get(id);
        if (!set) this.ambiguous.set(id, (set = new Set()));
        if (set.size >= HISTORY_VERSIONS * 4) set.clear(); // old serials: a bound, not a loss (they age out of `list` too)
        set.add(v.serial);
      }
      return;
    }
    list.push(v);
    this.records += v.records.length;
    if (list.length > HISTORY_VERSIONS) this.records -= list.shift()!.records.length;
    // Over the record budget: drop the oldest versions of the longest lists first.
    while (this.records > HISTORY_RECORDS) {
      let worst: ZoneVersion[] | null = null;
      for (const l of this.byZone.values()) if (l.length > 0 && (!worst || l.length > worst.length)) worst = l;
      if (!worst) break;
      this.records -= worst.shift()!.records.length;
    }
  }

  /** The version sent under `serial`, unless that serial was sent with two contents. */
  find(env: string, zone: string, serial: number): ZoneVersion | undefined {
    const id = `${env} ${zone}`;
    if (this.ambiguous.get(id)?.has(serial)) return undefined;
    return this.byZone.get(id)?.find((v) => v.serial === serial);
  }
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Zone reads at once (each holds a copy of its zone's records); more transfers are refused until one ends. */
export const MAX_CONCURRENT_TRANSFERS = 4;
let reading = 0;

/**
 * The answer to an AXFR or IXFR query from a client whose view is `env`. Over UDP only IXFR comes
 * here, and gets the current SOA alone: the client is current, or must ask again over TCP (RFC 1995
 * §2). The zone is read in slices (src/slices.ts), so queries are answered meanwhile; a patch
 * that lands in between may show in part, and the result carries the serial the read started
 * from, so a client holding it asks again for what moved on.
 */
export async function transfer(msg: Buffer, index: DnsIndex, env: string, tcp: boolean, allowed: boolean, history: TransferHistory): Promise<TransferReply> {
  const q = parseQuery(msg);
  if (isRejection(q)) throw new Error('dns: transfer() needs a query respond() accepted');
  // `q` is the parser's shared object: what is needed after the zone read is copied out now.
  const { qtype, end, ixfrSerial: client } = q;
  const fail = (rcode: number, result: TransferResult): TransferReply => ({ result, qtype, messages: once(rcodeMessage(msg, end, rcode)) });
  if (!allowed) return fail(RCODE.REFUSED, 'refused');
  if (!index.loaded) return fail(RCODE.SERVFAIL, 'servfail');
  const info = index.zones.get(q.key);
  if (!info) return fail(NOTAUTH, 'notauth');
  const head = Buffer.from(msg.subarray(0, end)); // the question as asked (its case), kept past this call
  const qname = info.name;
  const serial = info.soa.serial;
  const soa: Rr = { name: qname, ttl: info.soa.minimum, rec: { type: TYPE.SOA, data: info.soa } };
  if (qtype !== AXFR && (!tcp || client === serial || serialNewer(client, serial))) {
    return { result: 'ixfr_current', qtype, messages: once(message(head, qname, [soa])) };
  }
  if (reading >= MAX_CONCURRENT_TRANSFERS) return fail(RCODE.REFUSED, 'busy');
  reading++;
  let v: ZoneVersion | null;
  try {
    v = await readZone(index, q.key, env);
  } finally {
    reading--;
  }
  if (!v) return fail(NOTAUTH, 'notauth'); // the zone went away while it was read (a pool removed)
  v.serial = serial;
  v.soa = soa;
  if (qtype !== AXFR) {
    const old = history.find(env, v.zone, client);
    history.keep(env, v);
    if (old) return { result: 'ixfr', qtype, messages: messages(head, qname, incremental(old, v)) };
    return { result: 'ixfr_full', qtype, messages: messages(head, qname, full(v)) };
  }
  history.keep(env, v);
  return { result: 'axfr', qtype, messages: messages(head, qname, full(v)) };
}

/** `zoneVersionSteps` run in slices (src/slices.ts). */
function readZone(index: DnsIndex, zoneKey: string, env: string): Promise<ZoneVersion | null> {
  return runSliced(zoneVersionSteps(index, zoneKey, env));
}

/** SOA, every record, SOA (RFC 5936 §2.2). */
function* full(v: ZoneVersion): Generator<Rr> {
  yield v.soa;
  yield* v.records;
  yield v.soa;
}

/** RFC 1995 §4: new SOA, then old SOA, what went away, new SOA, what came, and the new SOA again. */
function* incremental(old: ZoneVersion, now: ZoneVersion): Generator<Rr> {
  yield now.soa;
  yield old.soa;
  const current = new Set(now.keys);
  for (let i = 0; i < old.keys.length; i++) if (!current.has(old.keys[i])) yield old.records[i];
  yield now.soa;
  const before = new Set(old.keys);
  for (let i = 0; i < now.keys.length; i++) if (!before.has(now.keys[i])) yield now.records[i];
  yield now.soa;
}

/** Transfer messages of at most about MESSAGE_BODY body bytes, encoded one at a time as the socket takes them. */
function* messages(head: Buffer, qname: string, rrs: Iterable<Rr>): Generator<Buffer> {
  let batch: Rr[] = [];
  let w = new BodyWriter(head.length, qname);
  for (const rr of rrs) {
    w.records([rr]);
    batch.push(rr);
    if (w.bytesWritten >= MESSAGE_BODY) {
      yield assemble(head, w, batch.length);
      batch = [];
      w = new BodyWriter(head.length, qname);
    }
  }
  if (batch.length > 0) yield assemble(head, w, batch.length);
}

function message(head: Buffer, qname: string, rrs: Rr[]): Buffer {
  const w = new BodyWriter(head.length, qname);
  return assemble(head, w, w.records(rrs));
}

/** Header (QR, AA, RD copied), the client's question, then the body written by `w`. */
function assemble(head: Buffer, w: BodyWriter, answers: number): Buffer {
  const body = w.finish();
  const out = Buffer.allocUnsafe(head.length + body.length);
  head.copy(out, 0);
  body.copy(out, head.length);
  out[2] = 0x80 | 0x04 | (head[2] & 0x01);
  out[3] = 0;
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(answers, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(0, 10);
  return out;
}

function rcodeMessage(msg: Buffer, end: number, rcode: number): Buffer {
  const out = Buffer.alloc(end);
  msg.copy(out, 0, 0, end);
  out[2] = 0x80 | (msg[2] & 0x01);
  out[3] = rcode;
  out.writeUInt32BE(0x00010000, 4);
  out.writeUInt32BE(0, 8);
  return out;
}

function* once(b: Buffer): Generator<Buffer> {
  yield b;
}
