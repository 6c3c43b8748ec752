/**
 * DNS over TCP framing (RFC 1035 §4.2.2, RFC 7766): two-byte length prefix, pipelined queries,
 * replies possibly out of order. Written here rather than taken from dns2, whose TCP server runs
 * every frame through its slow parser (docs/dns.md: 2–3 s per crafted packet).
 *
 * Abuse limits (slowloris: connections that dribble a byte every few seconds to hold every slot):
 * - a deadline from accept for the whole connection, never extended by traffic;
 * - an idle timeout that only a complete message restarts (bytes of a partial one do not);
 * - at most `maxPerSource` connections per client address (the newest one is refused);
 * - at most `maxConnections` in all: a new connection sheds the oldest idle one (no query in
 *   flight); only when every connection has a query in flight is the newcomer refused;
 * - at most MAX_IN_FLIGHT pipelined queries awaiting a reply per connection (reading pauses).
 */
import net from 'node:net';

/** Why the server closed a connection (metrics label). */
export type TcpCloseReason = 'deadline' | 'idle' | 'per_source' | 'global' | 'full';

export interface TcpFramingOptions {
  /** Time allowed between two complete messages (or from accept to the first) before closing. */
  idleTimeoutMs: number;
  /** Whole-connection deadline from accept (RFC 7766 §6.2.3 lets servers close when they must). */
  deadlineMs: number;
  maxConnections: number;
  maxPerSource: number;
  /**
   * One complete message; call `reply` exactly once (possibly later), with null for no answer, or
   * with the messages of a zone transfer, which are pulled one at a time as the socket drains.
   */
  onMessage(msg: Buffer, remote: { address: string; port: number }, reply: (out: Buffer | null | Iterator<Buffer>) => void): void;
  /** The server closed (or refused) a connection for an abuse limit. */
  onClose?(reason: TcpCloseReason): void;
}

/** A client that stops reading its replies is cut off past this many unsent bytes (bounds memory: connections × this). */
const MAX_UNSENT = 256 * 1024;
/** Pipelined queries awaiting a reply (only forwarded ones wait) before the server stops reading a connection. */
export const MAX_IN_FLIGHT = 32;

interface Conn {
  sock: net.Socket;
  inFlight: number;
}

export interface TcpServer {
  server: net.Server;
  destroyConnections(): void;
  /** Open connections (for the gauge). */
  connections(): number;
}

/** A net.Server speaking length-prefixed DNS messages, and a way to drop every open connection on stop. */
export function createTcpServer(opts: TcpFramingOptions): TcpServer {
  // Insertion order is accept order: the first idle entry is the oldest idle connection.
  const open = new Set<Conn>();
  const perSource = new Map<string, number>();
  const closeFor = (sock: net.Socket, reason: TcpCloseReason): void => {
    if (sock.destroyed) return;
    opts.onClose?.(reason);
    sock.destroy();
  };

  const server = net.createServer({ allowHalfOpen: true }, (sock) => {
    const remote = { address: sock.remoteAddress ?? '', port: sock.remotePort ?? 0 };
    sock.on('error', () => sock.destroy());
    const fromSource = perSource.get(remote.address) ?? 0;
    if (fromSource >= opts.maxPerSource) {
      closeFor(sock, 'per_source');
      return;
    }
    if (open.size >= opts.maxConnections) {
      let victim: Conn | undefined;
      for (const c of open)
        if (c.inFlight === 0) {
          victim = c;
          break;
        }
      if (!victim) {
        closeFor(sock, 'full');
        return;
      }
      open.delete(victim);
      closeFor(victim.sock, 'global');
    }
    const conn: Conn = { sock, inFlight: 0 };
    open.add(conn);
    perSource.set(remote.address, fromSource + 1);
    sock.on('close', () => {
      open.delete(conn);
      clearTimeout(deadline);
      clearTimeout(idle);
      const n = (perSource.get(remote.address) ?? 1) - 1;
      if (n <= 0) perSource.delete(remote.address);
      else perSource.set(remote.address, n);
    });
    const deadline = setTimeout(() => closeFor(sock, 'deadline'), opts.deadlineMs);
    const idle = setTimeout(function onIdle() {
      // A forwarded query still awaiting its reply is not idleness; the forwarder has its own timeout.
      if (conn.inFlight > 0) idle.refresh();
      else closeFor(sock, 'idle');
    }, opts.idleTimeoutMs);

    let pending: Buffer = Buffer.alloc(0);
    let peerEnded = false;
    let paused = false;
    sock.setNoDelay(true);

    /** Writes one framed message; false when the connection is gone or was cut off for not reading. */
    const send = (out: Buffer): boolean => {
      if (out.length > 0xffff || sock.writableLength > MAX_UNSENT) {
        sock.destroy();
        return false;
      }
      const frame = Buffer.allocUnsafe(2 + out.length);
      frame.writeUInt16BE(out.length, 0);
      out.copy(frame, 2);
      sock.write(frame);
      return true;
    };

    const reply = (out: Buffer | null | Iterator<Buffer>): void => {
      if (out && !Buffer.isBuffer(out)) {
        stream(out);
        return;
      }
      conn.inFlight--;
      if (sock.destroyed) return;
      idle.refresh();
      if (out && !send(out)) return;
      settled();
    };

    /** A transfer: messages pulled while the socket keeps up, the rest after 'drain' (memory stays bounded). */
    const stream = (messages: Iterator<Buffer>): void => {
      const pump = (): void => {
        for (;;) {
          if (sock.destroyed) return;
          if (sock.writableLength > MAX_UNSENT / 2) {
            sock.once('drain', pump);
            return;
          }
          let next: IteratorResult<Buffer>;
          try {
            next = messages.next();
          } catch {
            sock.destroy(); // a transfer cut short is retried by the secondary; a throw here would end the process
            return;
          }
          if (next.done) break;
          idle.refresh();
          if (!send(next.value)) return;
        }
        conn.inFlight--;
        settled();
      };
      pump();
    };

    /** After a reply: read on if reading was paused, end a half-closed connection once nothing is owed. */
    const settled = (): void => {
      if (paused && conn.inFlight < MAX_IN_FLIGHT) {
        paused = false;
        drain();
        if (!paused && !peerEnded) sock.resume();
      }
      if (peerEnded && conn.inFlight === 0 && !paused) sock.end();
    };

    /** Answers every complete message in `pending`, up to the in-flight cap. */
    const drain = (): void => {
      let buf = pending;
      while (buf.length >= 2) {
        if (conn.inFlight >= MAX_IN_FLIGHT) {
          paused = true;
          sock.pause();
          break;
        }
        const len = buf.readUInt16BE(0);
        // A zero-length or header-less frame is not DNS: drop the connection rather than guess.
        if (len < 12) {
          sock.destroy();
          return;
        }
        if (buf.length < 2 + len) break;
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        conn.inFlight++;
        idle.refresh();
        let replied = false;
        opts.onMessage(msg, remote, (out: Buffer | null | Iterator<Buffer>) => {
          if (!replied) {
            replied = true;
            reply(out);
          }
        });
        if (sock.destroyed) return;
      }
      // Copy the partial tail so the big chunk it came from can be freed.
      pending = buf.length === 0 ? Buffer.alloc(0) : Buffer.from(buf);
    };

    sock.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      drain();
    });
    sock.on('end', () => {
      peerEnded = true;
      if (conn.inFlight === 0 && !paused) sock.end();
    });
  });
  server.on('error', () => {
    /* listen errors surface through listen(); per-socket errors above */
  });
  return {
    server,
    destroyConnections: () => {
      for (const c of open) c.sock.destroy();
    },
    connections: () => open.size,
  };
}
