/**
 * The operator's templates: read from BERTH_NGINX_TEMPLATES, compiled once, and tried on a dummy
 * context at load so a broken template stops the sync with its file name instead of failing every
 * service at render time.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import Handlebars from 'handlebars';
import { loopTurn } from '../slices';
import type { TemplateContext } from './template-context';

/** The template files an operator's `BERTH_NGINX_TEMPLATES` folder must hold. */
export const TEMPLATE_FILES = { http: 'http.conf.hbs', stream: 'stream.conf.hbs', httpLua: 'http-lua.conf.hbs' } as const;

/** The text of the templates. */
export interface TemplateSources {
  http: string;
  stream: string;
  httpLua?: string;
}

/** Compiled templates, one per proxy kind. */
export interface Templates {
  /** What they were compiled from (another thread compiles the same: render-ahead.ts). */
  sources?: TemplateSources;
  http: (ctx: TemplateContext) => string;
  stream: (ctx: TemplateContext) => string;
  /** `http-lua.conf.hbs`, loaded for `BERTH_NGINX_DYNAMIC=lua` only. */
  httpLua?: (ctx: TemplateContext) => string;
}

/** Compiles template sources. `noEscape`: the output is Nginx syntax, not HTML; values are validated instead. */
export function compileTemplates(sources: TemplateSources): Templates {
  const hb = Handlebars.create();
  const opts = { noEscape: true, strict: false };
  const compiled: Templates = { sources, http: hb.compile(sources.http, opts), stream: hb.compile(sources.stream, opts) };
  if (sources.httpLua !== undefined) compiled.httpLua = hb.compile(sources.httpLua, opts);
  return compiled;
}

/**
 * Reads and compiles `http.conf.hbs` and `stream.conf.hbs` (and `http-lua.conf.hbs` with `lua`)
 * from `templatesDir`; throws naming the file on error.
 */
export async function loadTemplates(templatesDir: string, opts: { lua?: boolean } = {}): Promise<Templates> {
  const read = async (name: string) => {
    const file = path.join(templatesDir, name);
    try {
      return await fs.readFile(file, 'utf8');
    } catch (err) {
      throw new Error(`cannot read Nginx template ${file}: ${(err as Error).message}`);
    }
  };
  const sources = {
    http: await read(TEMPLATE_FILES.http),
    stream: await read(TEMPLATE_FILES.stream),
    httpLua: opts.lua ? await read(TEMPLATE_FILES.httpLua) : undefined,
  };
  const compiled = compileTemplates(sources);
  // Handlebars compiles lazily: render a dummy once so a syntax error surfaces at load, with the file name.
  for (const kind of opts.lua ? (['http', 'stream', 'httpLua'] as const) : (['http', 'stream'] as const)) {
    // Compiling one template holds the event loop for tens of milliseconds: the loop runs between them.
    await loopTurn();
    try {
      const ctx: TemplateContext = {
        env: 'x',
        appId: '/x',
        upstream: 'x',
        domains: ['x'],
        serverNames: 'x',
        primaryDomain: 'x',
        listen: '1',
        servers: [],
        hasServers: false,
        proxy: kind === 'stream' ? 'tcp' : 'http',
        tlsServers: [{ listen: '2', serverNames: 'x', cert: '/x.crt', key: '/x.key', fingerprint: 'x' }],
        hasTls: true,
        redirect: false,
        httpsPortSuffix: '',
        hsts: 1,
        servicePort: 1,
        portName: null,
        fixedIp: null,
        connectTimeout: 5,
        readTimeout: 60,
        bodyMax: 1,
        allow: ['127.0.0.1'],
        sticky: 'cookie',
        stickyKey: 'x',
        stickyCookie: 'x',
        routesOnly: false,
        routes: [],
      };
      compiled[kind]!(ctx);
      // The branch for a domain shared by path (docs/nginx.md "Path prefixes").
      if (kind !== 'stream') compiled[kind]!({ ...ctx, routesOnly: true, routes: [{ match: '/', pass: '', redirect: false, https: true, hsts: 1 }] });
    } catch (err) {
      throw new Error(`Nginx template ${path.join(templatesDir, TEMPLATE_FILES[kind])} is invalid: ${(err as Error).message}`);
    }
  }
  return compiled;
}
