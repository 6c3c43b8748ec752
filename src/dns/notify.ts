/**
 * NOTIFY (RFC 1996) to the secondaries in `BERTH_DNS_NOTIFY` when the SOA serial changes, so they
 * transfer within seconds instead of at their refresh timer. Over UDP, one NOTIFY per zone and
 * target, retried with doubling waits until the target acknowledges it (a reply with our id and
 * opcode NOTIFY) or `NOTIFY_ATTEMPTS` have gone unanswered. A newer serial replaces a NOTIFY still
 * being retried for the same zone and target: the secondary only needs to hear about the latest.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { randomInt } from 'node:crypto';
import type { Rr } from './encoder';
import { BodyWriter } from './encoder';
import { parseUpstream, type Upstream } from './forwarder';
import { TYPE, wireLength } from './wire';

/** Sends per zone and target before giving up (waits 1, 2, 4, 8 s: RFC 1996 §3.6 suggests a few retries). */
export const NOTIFY_ATTEMPTS = 5;
const OPCODE_NOTIFY = 4;

export type NotifyResult = 'sent' | 'acked' | 'failed';

export interface NotifierOptions {
  targets: string[];
  /** First wait for an acknowledgement; each retry doubles it. */
  firstWaitMs?: number;
  attempts?: number;
  onResult?(result: NotifyResult): void;
  onError?(err: unknown): void;
}

interface Pending {
  id: number;
  key: string;
  up: Upstream;
  msg: Buffer;
  attempt: number;
  timer: NodeJS.Timeout;
}

/** `host:port` list → UDP NOTIFY sender with retries. */
export class Notifier {
  private readonly ups: Upstream[];
  private readonly byId = new Map<number, Pending>();
  private readonly byKey = new Map<string, Pending>();
  private readonly sockets = new Map<4 | 6, dgram.Socket>();
  private readonly firstWait: number;
  private readonly attempts: number;

  constructor(private readonly o: NotifierOptions) {
    this.ups = o.targets.map(parseUpstream);
    this.firstWait = o.firstWaitMs ?? 1000;
    this.attempts = o.attempts ?? NOTIFY_ATTEMPTS;
  }

  get enabled(): boolean {
    return this.ups.length > 0;
  }

  /** Tells every target that each of `zones` (dotted) now has `soa`'s serial. */
  notify(zones: Iterable<{ name: string; soa: Rr['rec'] & { type: typeof TYPE.SOA } }>): void {
    for (const z of zones) for (const up of this.ups) this.start(z.name, z.soa, up);
  }

  /** Stops retrying and closes the sockets. */
  close(): void {
    for (const p of this.byId.values()) clearTimeout(p.timer);
    this.byId.clear();
    this.byKey.clear();
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
  }

  private start(zone: string, soa: Rr['rec'] & { type: typeof TYPE.SOA }, up: Upstream): void {
    const key = `${up.host} ${up.port} ${zone}`;
    const old = this.byKey.get(key);
    if (old) this.finish(old);
    let id = randomInt(0, 0x10000);
    while (this.byId.has(id)) id = (id + 1) & 0xffff;
    const p: Pending = { id, key, up, msg: notifyMessage(id, zone, soa), attempt: 0, timer: undefined as unknown as NodeJS.Timeout };
    this.byId.set(id, p);
    this.byKey.set(key, p);
    this.send(p);
  }

  private send(p: Pending): void {
    p.attempt++;
    this.o.onResult?.('sent');
    try {
      this.socket(net.isIPv6(p.up.host) ? 6 : 4).send(p.msg, p.up.port, p.up.host);
    } catch (err) {
      this.o.onError?.(err);
    }
    p.timer = setTimeout(
      () => {
        if (p.attempt >= this.attempts) {
          this.finish(p);
          this.o.onResult?.('failed');
        } else this.send(p);
      },
      this.firstWait * 2 ** (p.attempt - 1),
    );
    p.timer.unref();
  }

  private finish(p: Pending): void {
    clearTimeout(p.timer);
    this.byId.delete(p.id);
    if (this.byKey.get(p.key) === p) this.byKey.delete(p.key);
  }

  private onReply(msg: Buffer, from: dgram.RemoteInfo): void {
    if (msg.length < 12 || !(msg[2] & 0x80) || ((msg[2] >> 3) & 0x0f) !== OPCODE_NOTIFY) return;
    const p = this.byId.get(msg.readUInt16BE(0));
    // Only from the target asked (a spoofed acknowledgement would stop the retries).
    if (!p || from.port !== p.up.port || normal(from.address) !== normal(p.up.host)) return;
    this.finish(p);
    this.o.onResult?.('acked');
  }

  private socket(family: 4 | 6): dgram.Socket {
    let s = this.sockets.get(family);
    if (!s) {
      s = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
      s.on('message', (m, r) => this.onReply(m, r));
      s.on('error', (err) => this.o.onError?.(err));
      s.unref();
      this.sockets.set(family, s);
    }
    return s;
  }
}

function normal(a: string): string {
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

/** A NOTIFY for `zone`: opcode 4, AA, the question (zone, SOA, IN) and the new SOA as a hint (RFC 1996 §3.7). */
export function notifyMessage(id: number, zone: string, soa: Rr['rec'] & { type: typeof TYPE.SOA }): Buffer {
  const qlen = wireLength(zone);
  const head = Buffer.alloc(12 + qlen + 4);
  head.writeUInt16BE(id, 0);
  head[2] = (OPCODE_NOTIFY << 3) | 0x04;
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(1, 6);
  let p = 12;
  for (const label of zone.split('.').filter(Boolean)) {
    head[p++] = label.length;
    p += head.write(label, p, 'latin1');
  }
  head[p++] = 0;
  head.writeUInt16BE(TYPE.SOA, p);
  head.writeUInt16BE(1, p + 2);
  const w = new BodyWriter(head.length, zone);
  w.records([{ name: zone, ttl: soa.data.minimum, rec: soa }]);
  return Buffer.concat([head, w.finish()]);
}
