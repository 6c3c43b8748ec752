/**
 * Serves the built dashboard (dist/ui) under `/ui/`. Only files present in that folder are served
 * (looked up by exact name, so no path can escape it); hashed assets are cached for a year,
 * index.html is revalidated on every load. A strict Content-Security-Policy allows nothing but
 * this origin: no inline script or style, no CDN, no framing.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { BerthError } from '../../errors';
import { packageRoot } from '../../demo/options';

export const UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

interface UiFile {
  body: Buffer;
  type: string;
  immutable: boolean;
}

/** Where `npm run build` puts the page. */
export function defaultUiDir(): string {
  return path.join(packageRoot(), 'dist', 'ui');
}

/** Reads the built page once (retrying while it is missing, e.g. before the first build). */
function loader(dir: string): () => Map<string, UiFile> | null {
  let files: Map<string, UiFile> | null = null;
  return () => {
    if (files) return files;
    let names: string[];
    try {
      names = fs.readdirSync(dir).filter((n) => TYPES[path.extname(n)] && fs.statSync(path.join(dir, n)).isFile());
    } catch {
      return null;
    }
    if (!names.includes('index.html')) return null;
    files = new Map(
      names.map((n) => [n, { body: fs.readFileSync(path.join(dir, n)), type: TYPES[path.extname(n)], immutable: /-[A-Z0-9]{8,}\.\w+$/.test(n) }]),
    );
    return files;
  };
}

function send(reply: FastifyReply, f: UiFile) {
  return reply
    .header('content-type', f.type)
    .header('cache-control', f.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
    .header('content-security-policy', UI_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .send(f.body);
}

export function registerStaticUi(app: FastifyInstance, opts: { dir?: string }): void {
  const load = loader(opts.dir ?? defaultUiDir());
  const file = (name: string): UiFile => {
    const files = load();
    if (!files) throw new BerthError('NOT_FOUND', 'the dashboard is not built: run `npm run build`');
    const f = files.get(name);
    if (!f) throw new BerthError('NOT_FOUND', `no dashboard file ${name.slice(0, 100)}`);
    return f;
  };
  const hide = { schema: { hide: true } };
  app.get('/', hide, async (_req, reply) => reply.redirect('/ui/', 302));
  app.get('/ui', hide, async (_req, reply) => reply.redirect('/ui/', 301));
  app.get('/ui/', hide, async (_req, reply) => send(reply, file('index.html')));
  app.get<{ Params: { file: string } }>('/ui/:file', hide, async (req, reply) => send(reply, file(req.params.file)));
}
