/**
 * DNS over TCP framing (RFC 1035 §4.2.2, RFC 7766): two-byte length prefix, pipelined queries,
 * replies possibly out of order, idle timeout. Written here rather than taken from dns2, whose TCP
 * server runs every frame through its slow parser (reference/dns-bench.md: 2–3 s per crafted packet).
 */
import net from 'node:net';

export interface TcpFramingOptions {
  /** RFC 7766 §6.2.3 recommends closing idle connections after some seconds. */
  idleTimeoutMs: number;
  maxConnections: number;
  /** One complete message; call `reply` exactly once (possibly later), with null for no answer. */
  onMessage(msg: Buffer, remote: { address: string; port: number }, reply: (out: Buffer | null) => void): void;
}

/** A client that stops reading its replies is cut off past this many unsent bytes (bounds memory: connections × this). */
const MAX_UNSENT = 256 * 1024;

/** A net.Server speaking length-prefixed DNS messages, and a way to drop every open connection on stop. */
export function createTcpServer(opts: TcpFramingOptions): { server: net.Server; destroyConnections(): void } {
  const open = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (sock) => {
    open.add(sock);
    sock.on('close', () => open.delete(sock));
    const remote = { address: sock.remoteAddress ?? '', port: sock.remotePort ?? 0 };
    let pending = Buffer.alloc(0);
    let inFlight = 0;
    let peerEnded = false;
    sock.setNoDelay(true);
    sock.setTimeout(opts.idleTimeoutMs, () => sock.destroy());
    sock.on('error', () => sock.destroy());

    const reply = (out: Buffer | null): void => {
      inFlight--;
      if (sock.destroyed) return;
      if (!out) { if (peerEnded && inFlight === 0) sock.end(); return; }
      if (out.length > 0xffff || sock.writableLength > MAX_UNSENT) { sock.destroy(); return; }
      const frame = Buffer.allocUnsafe(2 + out.length);
      frame.writeUInt16BE(out.length, 0);
      out.copy(frame, 2);
      sock.write(frame);
      if (peerEnded && inFlight === 0) sock.end();
    };

    sock.on('data', (chunk: Buffer) => {
      let buf = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        // A zero-length or header-less frame is not DNS: drop the connection rather than guess.
        if (len < 12) { sock.destroy(); return; }
        if (buf.length < 2 + len) break;
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        inFlight++;
        let replied = false;
        opts.onMessage(msg, remote, (out) => { if (!replied) { replied = true; reply(out); } });
        if (sock.destroyed) return;
      }
      // Copy the partial tail so the big chunk it came from can be freed.
      pending = buf.length === 0 ? Buffer.alloc(0) : Buffer.from(buf);
    });
    sock.on('end', () => {
      peerEnded = true;
      if (inFlight === 0) sock.end();
    });
  });
  server.maxConnections = opts.maxConnections;
  server.on('error', () => { /* listen errors surface through listen(); per-socket errors above */ });
  return { server, destroyConnections: () => { for (const s of open) s.destroy(); } };
}
