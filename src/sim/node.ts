/**
 * One simulated Marathon node: an HTTP server on loopback over a (possibly shared) cluster.
 * Cross-cutting behaviour lives here: Basic/token auth, fault injection, request counting,
 * the leader/standby filter (X-Marathon-Leader, 1.4 proxying, 1.10 302 for `/v2/events`) and the
 * `/v2/events` Accept check.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { Socket } from 'node:net';
import { Faults, applyFault, jettyErrorPage } from './faults';
import { type Reply, route } from './routes';
import { SseHub } from './sse';
import type { SimCluster } from './state';

export type SimAuth = { username: string; password: string } | { token: string };

export interface NodeOptions {
  keepaliveMs: number;
  maxOutstanding?: number;
  auth?: SimAuth;
  /** Handles `/_sim/...` control requests (set by the simulator). */
  control?: (req: IncomingMessage, res: ServerResponse, body: unknown) => Promise<void>;
}

const MAX_BODY = 20 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) reject(new Error('body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export class SimNode {
  readonly faults = new Faults();
  readonly hub: SseHub;
  /** Requests seen, by `METHOD /path` (query excluded). */
  readonly counts = new Map<string, number>();
  auth?: SimAuth;
  self = '';
  private server?: Server;
  private readonly sockets = new Set<Socket>();

  constructor(
    readonly cluster: SimCluster,
    private readonly opts: NodeOptions,
  ) {
    this.hub = new SseHub(cluster, { keepaliveMs: opts.keepaliveMs, maxOutstanding: opts.maxOutstanding });
    this.auth = opts.auth;
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    const server = createServer((req, res) => {
      void this.handle(req, res);
    });
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(port, host, resolve));
    const addr = server.address() as { port: number };
    this.server = server;
    this.self = `${host}:${addr.port}`;
    return `http://${this.self}`;
  }

  get isLeader(): boolean {
    return this.cluster.leader === this.self;
  }

  private count(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  private baseHeaders(): Record<string, string> {
    const h: Record<string, string> = {
      'Cache-Control': 'no-cache, no-store, must-revalidate',
      Pragma: 'no-cache',
      Expires: '0',
    };
    if (this.cluster.leader) h['X-Marathon-Leader'] = `http://${this.cluster.leader}`;
    if (this.cluster.flavour === '1.10') {
      h['X-Frame-Options'] = 'DENY';
      h['X-XSS-Protection'] = '1; mode=block';
    }
    if (!this.isLeader) h['X-Marathon-Via'] = `1.1 ${this.self}`;
    return h;
  }

  private authorized(req: IncomingMessage): boolean {
    if (!this.auth) return true;
    const header = req.headers.authorization ?? '';
    if ('token' in this.auth) return header === `token=${this.auth.token}`;
    const expected = Buffer.from(`${this.auth.username}:${this.auth.password}`).toString('base64');
    return header === `Basic ${expected}`;
  }

  private send(res: ServerResponse, reply: Reply): void {
    const body = reply.raw ?? (typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body));
    const type = reply.raw === undefined && typeof reply.body === 'string' ? 'text/plain' : 'application/json';
    res.writeHead(reply.status, { ...this.baseHeaders(), 'Content-Type': type, ...reply.headers });
    res.end(body);
  }

  private html(res: ServerResponse, status: number, message: string, extra: Record<string, string> = {}): void {
    res.writeHead(status, { 'Content-Type': 'text/html;charset=ISO-8859-1', ...extra });
    res.end(jettyErrorPage(status, message));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://sim');
      const path = url.pathname.replace(/\/{2,}/g, '/');
      const method = req.method ?? 'GET';
      const raw = method === 'GET' || method === 'HEAD' ? '' : await readBody(req);
      if (path.startsWith('/_sim/') && this.opts.control) {
        return await this.opts.control(req, res, raw ? JSON.parse(raw) : {});
      }
      this.count(`${method} ${path}`);
      if (!this.authorized(req)) {
        const realm = 'token' in (this.auth ?? {}) ? { 'WWW-Authenticate': 'acsjwt' } : { 'WWW-Authenticate': 'basic realm="Mesosphere"' };
        return this.html(res, 401, 'Unauthorized', realm);
      }
      const fault = this.faults.take(method, path);
      if (fault && (await applyFault(fault, res, this.faults.hanging)) === 'done') return;
      if (!this.cluster.leader) {
        // LeaderProxyFilter gives up after 10 × 250 ms: 503 up to 1.6, 502 from 1.7.
        return this.html(res, this.cluster.flavour === '1.4' ? 503 : 502, 'Could not determine the current leader');
      }
      if (path === '/v2/events') return this.events(req, res, url);
      if (path === '/ping') return this.ping(req, res);
      let body: unknown;
      if (raw) {
        try {
          body = JSON.parse(raw);
        } catch (e) {
          return this.send(res, { status: 400, body: { message: 'Invalid JSON', details: [{ path: '/', errors: [(e as Error).message] }] } });
        }
      }
      const reply = route(this.cluster, {
        method,
        path,
        query: url.searchParams,
        body,
        rawUrl: req.url ?? path,
        self: this.self,
        clientIp: (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
        emptyApps: fault?.kind === 'emptyApps',
        wrongShape: fault?.kind === 'wrongShape',
      });
      if (path === '/v2/leader' && method === 'DELETE') this.cluster.emit('abdicate', this.self);
      this.send(res, reply);
    } catch (e) {
      if (!res.headersSent) this.send(res, { status: 500, body: { message: (e as Error).message } });
      else res.destroy();
    }
  }

  private ping(req: IncomingMessage, res: ServerResponse): void {
    const json = (req.headers.accept ?? '').includes('application/json');
    res.writeHead(200, { ...this.baseHeaders(), 'Content-Type': json ? 'application/json' : 'text/plain' });
    res.end(json ? '"pong"' : 'pong');
  }

  private events(req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (!this.isLeader && this.cluster.flavour === '1.10') {
      // 1.7.50+: standbys redirect the stream to the leader, query string kept.
      res.writeHead(302, { Location: `http://${this.cluster.leader}${url.pathname}${url.search}`, 'Content-Length': '0' });
      return void res.end();
    }
    // Jetty: exact string match of an Accept value, otherwise HttpServlet.doGet's 405.
    // Each Accept header line is compared whole: `text/event-stream, */*` is refused too.
    const accepts = req.headersDistinct.accept ?? [];
    if (!accepts.includes('text/event-stream') || req.method !== 'GET') {
      return this.html(res, 405, 'HTTP method GET is not supported by this URL', { Allow: 'GET, HEAD, OPTIONS' });
    }
    this.hub.attach(req, res, this.baseHeaders(), url.searchParams.getAll('event_type'));
  }

  /** Stops listening and drops every connection (streams, hanging requests). */
  async close(): Promise<void> {
    this.hub.close();
    for (const r of this.faults.hanging) r.destroy();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
