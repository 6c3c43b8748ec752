// Names derived from env and app id. The encoding is injective (no two app ids share a name) and
// yields only `[a-z0-9_]`: letters and digits stay, `-` → `_1`, `.` → `_2`, `/` → `_0`. Because
// every `_` starts a two-character escape, `__` never occurs inside an encoded part and can
// separate env from app id without ambiguity.

function encode(s: string): string {
  let out = '';
  for (const ch of s) {
    if (/[a-z0-9]/.test(ch)) out += ch;
    else if (ch === '-') out += '_1';
    else if (ch === '.') out += '_2';
    else if (ch === '/') out += '_0';
    else throw new Error(`cannot encode ${JSON.stringify(ch)} in a name; validate first`);
  }
  return out;
}

/** Nginx upstream name for a service: `berth__<env>__<app>`, unique per (env, app id). */
export function upstreamName(env: string, appId: string): string {
  return `berth__${encode(env)}__${encode(appId.replace(/^\//, ''))}`;
}

/** File name (without folder) of a service's rendered config, e.g. `/team/web` → `team_0web.conf`. */
export function fileName(appId: string): string {
  return `${encode(appId.replace(/^\//, ''))}.conf`;
}

/** Path of a service's file relative to the Nginx dir: `<env>/http/<file>` or `<env>/stream/<file>`. */
export function relativePath(env: string, proxy: 'http' | 'tcp', appId: string): string {
  return `${env}/${proxy === 'tcp' ? 'stream' : 'http'}/${fileName(appId)}`;
}
