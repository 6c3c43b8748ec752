/**
 * `/v2/events` as Jetty's EventSourceServlet writes it (docs/marathon.md "The event stream"): status 200,
 * `text/event-stream;charset=UTF-8`, `Connection: close` and no chunking (a raw stream until the
 * socket closes), `event: <type>\r\ndata: <json>\r\n\r\n` per event, no `id:`/`retry:`, and a bare
 * `\r` `\n` keepalive every 10 s. The client's own `event_stream_attached` comes first.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type SimEvent, streamAttachmentEvent } from './events';
import type { SimCluster } from './state';

export interface SseOptions {
  /** Keepalive period; Jetty's default heartBeatPeriod is 10 s. */
  keepaliveMs: number;
  /** `--event_stream_max_outstanding_messages` (default 1024): unflushed events per client. */
  maxOutstanding?: number;
}

interface Conn {
  res: ServerResponse;
  types: Set<string>;
  remote: string;
  outstanding: number;
  timer?: NodeJS.Timeout;
}

/** Frames one event exactly as Jetty's EventSourceEmitter.event(name, data) does. */
export function frameEvent(ev: SimEvent): string {
  return `event: ${ev.eventType}\r\ndata: ${JSON.stringify(ev)}\r\n\r\n`;
}

/** The open streams of one simulator node, with the fault switches tests use. */
export class SseHub {
  private readonly conns = new Set<Conn>();
  /** While stalled nothing is written (no events, no keepalives) but sockets stay open. */
  stalled = false;
  /** Leader "not yet ready": accept (200 + headers), then close at once. */
  notReady = false;
  /** Events written, and events dropped for slow consumers, for tests and benchmarks. */
  written = 0;
  dropped = 0;

  constructor(
    private readonly cluster: SimCluster,
    private readonly opts: SseOptions,
  ) {
    cluster.on('event', this.onEvent);
    cluster.on('raw', this.onRaw);
    cluster.on('leader-changed', this.onLeaderChanged);
  }

  /** Bytes written as they are to every stream (malformed events, truncated frames). */
  private readonly onRaw = (bytes: string): void => {
    if (this.stalled) return;
    for (const c of this.conns) c.res.write(bytes);
  };

  // Losing leadership closes every stream handle; a 1.4 leader even exits.
  private readonly onLeaderChanged = (): void => {
    this.cutAll();
  };

  private readonly onEvent = (ev: SimEvent): void => {
    if (this.stalled) return;
    const frame = frameEvent(ev);
    const max = this.opts.maxOutstanding ?? 1024;
    for (const c of this.conns) {
      // Filtered-out events still count as received for back-pressure; they are simply not sent.
      if (c.types.size > 0 && !c.types.has(ev.eventType)) continue;
      if (c.outstanding >= max) {
        // Slow consumer: 1.4–1.7 drop the event for this client, 1.8+ close the connection.
        this.dropped++;
        if (this.cluster.flavour === '1.10') c.res.destroy();
        continue;
      }
      c.outstanding++;
      c.res.write(frame, () => {
        c.outstanding--;
      });
      this.written++;
    }
  };

  /** Serves one accepted stream request; `headers` are the node's Marathon headers. */
  attach(req: IncomingMessage, res: ServerResponse, headers: Record<string, string>, types: string[]): void {
    // Node would chunk a body of unknown length; Jetty disables chunking with Connection: close.
    res.removeHeader('Transfer-Encoding');
    res.statusCode = 200;
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    res.setHeader('Content-Type', 'text/event-stream;charset=UTF-8');
    res.setHeader('Connection', 'close');
    res.flushHeaders();
    if (this.notReady) {
      res.end();
      return;
    }
    const remote = (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
    const conn: Conn = { res, types: new Set(types), remote, outstanding: 0 };
    this.conns.add(conn);
    conn.timer = setInterval(() => {
      if (this.stalled) return;
      // Jetty writes '\r', flushes, then '\n': two writes.
      res.write('\r');
      res.write('\n');
    }, this.opts.keepaliveMs);
    const cleanup = (): void => {
      if (!this.conns.delete(conn)) return;
      clearInterval(conn.timer);
      this.cluster.publish(streamAttachmentEvent('event_stream_detached', remote));
    };
    res.on('close', cleanup);
    res.on('error', cleanup);
    this.cluster.publish(streamAttachmentEvent('event_stream_attached', remote));
  }

  /** Drops every stream (socket closed), as a leader that lost leadership does. */
  cutAll(): number {
    const n = this.conns.size;
    for (const c of [...this.conns]) {
      clearInterval(c.timer);
      c.res.destroy();
    }
    return n;
  }

  count(): number {
    return this.conns.size;
  }

  close(): void {
    this.cluster.off('event', this.onEvent);
    this.cluster.off('raw', this.onRaw);
    this.cluster.off('leader-changed', this.onLeaderChanged);
    this.cutAll();
  }
}
