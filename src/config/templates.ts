import fs from 'node:fs';
import path from 'node:path';

/**
 * The Nginx templates shipped with berth: the nearest `nginx-templates/` above this file, so the
 * default works from the source tree, from `dist/` and from an installed package, whatever the
 * working directory (a relative default broke `berth run` started from anywhere else).
 */
export function shippedTemplatesDir(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'nginx-templates');
    if (fs.existsSync(path.join(candidate, 'http.conf.hbs'))) return candidate;
    if (path.dirname(dir) === dir) return path.resolve('nginx-templates');
  }
}
