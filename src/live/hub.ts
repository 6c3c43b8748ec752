/**
 * Server-sent "changed" notices for the dashboard. One ticker per process (running only while a
 * client listens) compares the topics' fingerprint every `pollMs`; a registry change wakes it at
 * once. Clients are bounded, get a heartbeat comment so proxies and the browser notice a dead
 * connection, and are all ended by `close()` so shutting the API down never waits on a stream.
 */
import type { ServerResponse } from 'node:http';
import { changedTopics, fingerprint, type Fingerprint, type LiveSources, type Topic } from './fingerprint';

export interface LiveHubOptions {
  sources: LiveSources;
  /** Only debug lines (the API's own logger fits). */
  logger: { debug(obj: object, msg: string): void };
  maxClients?: number;
  pollMs?: number;
  heartbeatMs?: number;
}

export const LIVE_DEFAULTS = { maxClients: 64, pollMs: 1000, heartbeatMs: 15_000 } as const;
const WAKE_MS = 100;

export class LiveHub {
  private readonly clients = new Set<ServerResponse>();
  private readonly maxClients: number;
  private readonly pollMs: number;
  private readonly heartbeatMs: number;
  private last: Fingerprint | null = null;
  private ticker: NodeJS.Timeout | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private soon: NodeJS.Timeout | null = null;
  private checking = false;
  private again = false;
  private closed = false;
  private seq = 0;

  constructor(private readonly opts: LiveHubOptions) {
    this.maxClients = opts.maxClients ?? LIVE_DEFAULTS.maxClients;
    this.pollMs = opts.pollMs ?? LIVE_DEFAULTS.pollMs;
    this.heartbeatMs = opts.heartbeatMs ?? LIVE_DEFAULTS.heartbeatMs;
  }

  /** Live clients right now. */
  size(): number {
    return this.clients.size;
  }

  /** False when the hub is full or closed (the route answers 503 then). */
  canAccept(): boolean {
    return !this.closed && this.clients.size < this.maxClients;
  }

  /** Takes over a raw response: writes the SSE head and a first "hello", keeps it until it closes. */
  attach(res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // Nginx in front of berth must not buffer the stream.
      'x-accel-buffering': 'no',
    });
    res.write(`retry: 3000\nevent: hello\ndata: ${JSON.stringify({ pollMs: this.pollMs })}\n\n`);
    this.clients.add(res);
    res.on('close', () => {
      this.clients.delete(res);
      if (this.clients.size === 0) this.idle();
    });
    if (this.clients.size === 1) this.wake();
  }

  /** Ends every stream and stops the ticker; later attaches are refused. */
  close(): void {
    this.closed = true;
    for (const res of this.clients) res.end();
    this.clients.clear();
    this.idle();
  }

  private wake(): void {
    if (this.ticker || this.closed) return;
    this.last = null;
    this.ticker = setInterval(() => void this.check(), this.pollMs);
    this.heartbeat = setInterval(() => this.broadcast(': heartbeat\n\n'), this.heartbeatMs);
    // A registry change is announced within WAKE_MS; a burst of changes costs one look, not one each.
    this.unsubscribe = this.opts.sources.registry.onChange(() => {
      this.soon ??= setTimeout(() => {
        this.soon = null;
        void this.check();
      }, WAKE_MS);
    });
    void this.check();
  }

  private idle(): void {
    if (this.ticker) clearInterval(this.ticker);
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.soon) clearTimeout(this.soon);
    this.ticker = this.heartbeat = this.soon = null;
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  /** One look at the sources; serial (a look asked for meanwhile runs right after). */
  private async check(): Promise<void> {
    if (this.checking) {
      this.again = true;
      return;
    }
    this.checking = true;
    try {
      do {
        this.again = false;
        const now = await fingerprint(this.opts.sources);
        const topics: Topic[] = this.last ? changedTopics(this.last, now) : [];
        this.last = now;
        if (topics.length) this.broadcast(`id: ${++this.seq}\nevent: changed\ndata: ${JSON.stringify({ topics })}\n\n`);
      } while (this.again && this.ticker);
    } catch (err) {
      // The database being away is reported by the API and /readyz; the stream just keeps trying.
      this.opts.logger.debug({ err: (err as Error).message }, 'live: fingerprint failed');
    } finally {
      this.checking = false;
    }
  }

  private broadcast(chunk: string): void {
    for (const res of this.clients) res.write(chunk);
  }
}
