/** Test helpers for the simulator: a raw SSE reader on a plain TCP socket, and app builders. */
import net from 'node:net';
import { waitFor } from '../support/wait';

export interface RawFrame {
  event: string;
  data: Record<string, unknown>;
  raw: string;
}

/** Reads `/v2/events` over a raw socket so tests see the exact bytes. */
export class RawStream {
  bytes = '';
  closed = false;
  private readonly sock: net.Socket;

  constructor(baseUrl: string, path = '/v2/events', headers: Record<string, string> = { Accept: 'text/event-stream' }) {
    const u = new URL(baseUrl);
    this.sock = net.connect(Number(u.port), u.hostname);
    const lines = Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    this.sock.write(`GET ${path} HTTP/1.1\r\nHost: ${u.host}\r\n${lines}\r\n`);
    this.sock.setEncoding('utf8');
    this.sock.on('data', (d: string) => {
      this.bytes += d;
    });
    this.sock.on('close', () => {
      this.closed = true;
    });
    this.sock.on('error', () => undefined);
  }

  get head(): string {
    const i = this.bytes.indexOf('\r\n\r\n');
    return i < 0 ? '' : this.bytes.slice(0, i);
  }

  get body(): string {
    const i = this.bytes.indexOf('\r\n\r\n');
    return i < 0 ? '' : this.bytes.slice(i + 4);
  }

  /** Complete event frames so far (keepalive CRLFs skipped). */
  frames(): RawFrame[] {
    const out: RawFrame[] = [];
    const re = /event: ([^\r\n]+)\r\ndata: ([^\r\n]*)\r\n\r\n/g;
    for (const m of this.body.matchAll(re)) out.push({ event: m[1], data: JSON.parse(m[2]), raw: m[0] });
    return out;
  }

  types(): string[] {
    return this.frames().map((f) => f.event);
  }

  async waitForHead(): Promise<string> {
    return waitFor(
      () => this.head || undefined,
      5000,
      () => `no response head: ${JSON.stringify(this.bytes)}`,
    );
  }

  async waitForEvent(pred: (f: RawFrame) => boolean, what = 'event'): Promise<RawFrame> {
    return waitFor(
      () => this.frames().find(pred),
      5000,
      () => `no ${what}; got ${this.types().join(',')}`,
    );
  }

  destroy(): void {
    this.sock.destroy();
  }
}

/** A docker bridge app with one port mapping and labels, in 1.5+ terms. */
export function bridgeApp(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    instances: 1,
    container: { type: 'DOCKER', docker: { image: 'nginx:alpine' }, portMappings: [{ containerPort: 80, hostPort: 0, name: 'http' }] },
    networks: [{ mode: 'container/bridge' }],
    labels: { 'berth.domain': `${id.replace(/\//g, '-').slice(1)}.berth.internal` },
    ...extra,
  };
}

export const HTTP_HEALTH = { healthChecks: [{ protocol: 'HTTP', path: '/', portIndex: 0 }] };
