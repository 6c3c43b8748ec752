/** A minimal DNS client for benchmarks: one UDP socket, queries by id, answers as rcode + count. */
import dgram from 'node:dgram';

export interface DnsAnswer {
  rcode: number;
  answers: number;
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
      done({ rcode: msg[3] & 15, answers: msg.readUInt16BE(6) });
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

  close(): void {
    for (const done of this.waiting.values()) done(null);
    this.waiting.clear();
    this.sock.close();
  }
}
