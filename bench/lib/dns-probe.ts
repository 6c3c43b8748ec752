/** A minimal DNS client for benchmarks: one UDP socket, queries by id, answers as rcode + count (and SRV records). */
import dgram from 'node:dgram';

export interface SrvRecord {
  port: number;
  /** Lower case, without the trailing dot. */
  target: string;
}

export interface DnsAnswer {
  rcode: number;
  answers: number;
  /** The SRV records of the answer section (empty for other types). */
  srv: SrvRecord[];
}

/** A (possibly compressed) name at `at`; returns it and the offset after it in the record. */
function readName(msg: Buffer, at: number): { name: string; next: number } {
  const labels: string[] = [];
  let next = -1;
  // Bounded: a malformed pointer loop cannot hold the benchmark.
  for (let hops = 0; hops < 128 && at < msg.length; hops++) {
    const len = msg[at];
    if (len === 0) {
      if (next < 0) next = at + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (next < 0) next = at + 2;
      at = msg.readUInt16BE(at) & 0x3fff;
      continue;
    }
    labels.push(msg.toString('ascii', at + 1, at + 1 + len).toLowerCase());
    at += 1 + len;
  }
  return { name: labels.join('.'), next: next < 0 ? msg.length : next };
}

/** The SRV records in a response's answer section. */
function srvRecords(msg: Buffer): SrvRecord[] {
  const out: SrvRecord[] = [];
  let at = readName(msg, 12).next + 4; // the question: name, type, class
  for (let i = 0, n = msg.readUInt16BE(6); i < n && at < msg.length; i++) {
    at = readName(msg, at).next;
    const type = msg.readUInt16BE(at);
    const rdlen = msg.readUInt16BE(at + 8);
    const rdata = at + 10;
    if (type === 33) out.push({ port: msg.readUInt16BE(rdata + 4), target: readName(msg, rdata + 6).name });
    at = rdata + rdlen;
  }
  return out;
}

function encodeQuery(id: number, name: string, type: number): Buffer {
  const labels = name.replace(/\.$/, '').split('.');
  const qname = Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')])), Buffer.from([0])]);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2); // RD, as stub resolvers send
  header.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(1, 2);
  return Buffer.concat([header, qname, tail]);
}

/** Sends queries to one server; many may be in flight (ids are 16-bit, reused round-robin). */
export class DnsProbe {
  private readonly sock = dgram.createSocket('udp4');
  private nextId = 1;
  private readonly waiting = new Map<number, (a: DnsAnswer | null) => void>();
  private closed = false;

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {
    this.sock.on('message', (msg) => {
      if (msg.length < 12) return;
      const id = msg.readUInt16BE(0);
      const done = this.waiting.get(id);
      if (!done) return;
      this.waiting.delete(id);
      let srv: SrvRecord[] = [];
      try {
        srv = srvRecords(msg);
      } catch {
        /* truncated or malformed: counted by rcode and answers only */
      }
      done({ rcode: msg[3] & 15, answers: msg.readUInt16BE(6), srv });
    });
    this.sock.unref();
  }

  /** One query; null on timeout. Type numbers: A=1, SRV=33. */
  query(name: string, type: number, timeoutMs = 1000): Promise<DnsAnswer | null> {
    const id = this.nextId;
    this.nextId = (this.nextId % 65535) + 1;
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiting.delete(id);
        resolve(null);
      }, timeoutMs);
      this.waiting.set(id, (a) => {
        clearTimeout(t);
        resolve(a);
      });
      this.sock.send(encodeQuery(id, name, type), this.port, this.host);
    });
  }

  /** Idempotent (a restarted cluster closes its old probe, and the run's cleanup again). */
  close(): void {
    for (const done of this.waiting.values()) done(null);
    this.waiting.clear();
    if (this.closed) return;
    this.closed = true;
    this.sock.close();
  }
}
