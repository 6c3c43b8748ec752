import net from 'node:net';
import { PROBLEM_CODES } from '../model/problems';
import type { Service } from '../model/types';
import { servicePath } from './names';
import type { FileBytes } from './plan';
import type { RenderedFile, RenderRejection } from './rendered-file';

const LISTEN = /^\s*listen\s+(?:\S*:)?(\d{1,5})\b/gm;

/** Ports a stream file listens on (its `listen` directives). */
export function listenPorts(bytes: FileBytes): number[] {
  const text = typeof bytes === 'string' ? bytes : bytes.toString('utf8');
  return [...text.matchAll(LISTEN)].map((m) => Number(m[1]));
}

const isStream = (path: string) => path.includes('/stream/');

/** Whether another process holds `port` on `host` (null: all IPv4 addresses, as a bare `listen <port>` binds). */
export function portInUse(host: string | null, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'EADDRINUSE'));
    // Other errors (EACCES for a port below 1024 when berth is not root) say nothing about the
    // port being taken: Nginx may well be allowed to bind it.
    srv.listen({ host: host ?? '0.0.0.0', port, exclusive: true }, () => srv.close(() => resolve(false)));
  });
}

/**
 * `nginx -t` does not bind listen sockets, so a TCP service on a port another process holds passes
 * the test and then makes the reload fail for every service (Nginx keeps its old configuration).
 * Before a port Nginx does not already hold goes into a stream file, berth binds it once and
 * closes it; a port in use is a problem for that service only (NGINX_PORT_IN_USE) and is checked
 * again on every later run. "Held by Nginx" means: in the stream files of the last configuration
 * that was applied (at start: the files on disk, which the running Nginx is assumed to have loaded).
 */
export class TcpPortCheck {
  private held: Set<number> | null = null;

  constructor(
    private readonly host: string | null,
    private readonly inUse: (host: string | null, port: number) => Promise<boolean> = portInUse,
  ) {}

  /** Splits `files` into those to ship and the TCP services whose new port is taken. */
  async check(
    files: readonly RenderedFile[],
    services: readonly Service[],
    disk: ReadonlyMap<string, FileBytes>,
  ): Promise<{ files: RenderedFile[]; rejected: RenderRejection[] }> {
    if (this.held === null) this.held = new Set([...disk].filter(([p]) => isStream(p)).flatMap(([, b]) => listenPorts(b)));
    const held = this.held;
    const byPath = new Map<string, Service>();
    for (const s of services) if (s.proxy === 'tcp' && typeof s.listen === 'number') byPath.set(safePath(s), s);
    const out: RenderedFile[] = [];
    const rejected: RenderRejection[] = [];
    for (const f of files) {
      const s = isStream(f.path) ? byPath.get(f.path) : undefined;
      const port = s?.listen;
      if (!s || typeof port !== 'number' || held.has(port) || !(await this.inUse(this.host, port))) {
        out.push(f);
        continue;
      }
      // The file on disk stays only when Nginx holds what it listens on (a service that moved to a
      // taken port keeps its old one); a file with the taken port itself would break the reload again.
      const before = disk.get(f.path);
      const keepDisk = before !== undefined && listenPorts(before).every((p) => held.has(p));
      rejected.push({
        env: f.env,
        appId: f.appId,
        code: PROBLEM_CODES.NGINX_PORT_IN_USE,
        message: `listen port ${port} on ${this.host ?? 'all addresses'} is in use by another process; the service is left out of Nginx and the port is checked again on the next runs`,
        path: keepDisk ? f.path : null,
      });
    }
    return { files: out, rejected };
  }

  /** The configuration with these files is what Nginx runs now. */
  applied(files: ReadonlyArray<{ path: string; bytes: FileBytes }>): void {
    this.held = new Set(files.filter((f) => isStream(f.path)).flatMap((f) => listenPorts(f.bytes)));
  }
}

function safePath(s: Service): string {
  try {
    return servicePath(s, 'tcp');
  } catch {
    return ''; // not encodable: renderServices rejected it already
  }
}
