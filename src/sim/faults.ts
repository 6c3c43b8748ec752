/**
 * Fault injection for the REST and stream endpoints: the bad answers peers choked on
 * (docs/reliability.md): 5xx, HTML error pages, garbage, an empty app list, hangs, slowness,
 * truncated bodies.
 */
import type { ServerResponse } from 'node:http';

export type FaultKind =
  | { kind: 'status'; status: number; body?: string; contentType?: string }
  | { kind: 'html'; status?: number }
  | { kind: 'garbage' }
  | { kind: 'wrongShape' }
  | { kind: 'emptyApps' }
  | { kind: 'hang' }
  | { kind: 'delay'; ms: number }
  | { kind: 'truncate' }
  | { kind: 'reset' };

/** A fault for requests whose path starts with `path` (default: every `/v2` and `/ping` path). */
export type Fault = FaultKind & { path?: string; method?: string; times?: number };

interface Entry {
  fault: Fault;
  left: number;
}

export class Faults {
  private entries: Entry[] = [];
  /** Responses left hanging, so close() can destroy them. */
  readonly hanging = new Set<ServerResponse>();

  /** Adds a fault; returns a function removing it. */
  add(fault: Fault): () => void {
    const e: Entry = { fault, left: fault.times ?? Number.POSITIVE_INFINITY };
    this.entries.push(e);
    return () => {
      this.entries = this.entries.filter((x) => x !== e);
    };
  }

  clear(): void {
    this.entries = [];
  }

  /** The first matching fault for this request, consuming one of its `times`. */
  take(method: string, path: string): Fault | undefined {
    const e = this.entries.find((x) => x.left > 0 && path.startsWith(x.fault.path ?? '') && (!x.fault.method || x.fault.method === method));
    if (!e) return undefined;
    e.left -= 1;
    if (e.left <= 0) this.entries = this.entries.filter((x) => x !== e);
    return e.fault;
  }
}

/** Jetty's error page shape (what a proxy or Jetty itself returns instead of JSON). */
export function jettyErrorPage(status: number, message: string): string {
  return `<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html;charset=ISO-8859-1"/>\n<title>Error ${status} ${message}</title>\n</head>\n<body><h2>HTTP ERROR ${status}</h2>\n<p>Problem accessing ${'/'}. Reason:\n<pre>    ${message}</pre></p><hr><a href="http://eclipse.org/jetty">Powered by Jetty:// 9.4.8.v20171121</a><hr/>\n</body>\n</html>\n`;
}

/**
 * Answers a request with the fault, or returns 'continue' when the request should proceed
 * normally afterwards (delay, emptyApps and wrongShape are applied by the route itself).
 */
export async function applyFault(f: Fault, res: ServerResponse, hanging: Set<ServerResponse>): Promise<'done' | 'continue'> {
  switch (f.kind) {
    case 'delay':
      await new Promise((r) => setTimeout(r, f.ms));
      return 'continue';
    case 'emptyApps':
    case 'wrongShape':
      return 'continue';
    case 'status':
      res.writeHead(f.status, { 'Content-Type': f.contentType ?? 'application/json' });
      res.end(f.body ?? JSON.stringify({ message: `simulated ${f.status}` }));
      return 'done';
    case 'html': {
      const status = f.status ?? 503;
      res.writeHead(status, { 'Content-Type': 'text/html;charset=ISO-8859-1' });
      res.end(jettyErrorPage(status, 'Service Unavailable'));
      return 'done';
    }
    case 'garbage':
      // 200 with a JSON content type and a body that is not JSON.
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"apps":[{"id":"/x", garbage \u0000 ]');
      return 'done';
    case 'truncate':
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '4096' });
      res.write('{"apps":[{"id":"/trunc');
      setImmediate(() => res.destroy());
      return 'done';
    case 'reset':
      res.socket?.destroy();
      return 'done';
    case 'hang':
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
      return 'done';
  }
}
