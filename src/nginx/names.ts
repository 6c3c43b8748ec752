import { createHash } from 'node:crypto';

// Names derived from env and app id. The encoding is injective (no two app ids share a name) and
// yields only `[a-z0-9_]`: letters and digits stay, `-` → `_1`, `.` → `_2`, `/` → `_0`. Because
// every `_` starts a two-character escape, `__` never occurs inside an encoded part and can
// separate env from app id without ambiguity.
//
// An app id may be up to 255 characters (src/rules), which can encode to twice that: more than a
// file name may hold (255 bytes, and the temp file adds ~22). Such ids keep a readable prefix and
// end in `_3` + 128 bits of SHA-256 of the id; `_3` never occurs in a plain encoding, so a hashed
// name cannot equal a plain one, and ids short enough to encode plainly keep their old names.
const ENCODED_MAX = 200;
const HASHED_PREFIX = 160;

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

function appPart(appId: string): string {
  const plain = encode(appId.replace(/^\//, ''));
  if (plain.length <= ENCODED_MAX) return plain;
  return `${plain.slice(0, HASHED_PREFIX)}_3${createHash('sha256').update(appId).digest('hex').slice(0, 32)}`;
}

/** Nginx upstream name for a service: `berth__<env>__<app>`, unique per (env, app id). */
export function upstreamName(env: string, appId: string): string {
  return `berth__${encode(env)}__${appPart(appId)}`;
}

/** File name (without folder) of a service's rendered config, e.g. `/team/web` → `team_0web.conf`. */
export function fileName(appId: string): string {
  return `${appPart(appId)}.conf`;
}

/** Path of a service's file relative to the Nginx dir: `<env>/http/<file>` or `<env>/stream/<file>`. */
export function relativePath(env: string, proxy: 'http' | 'tcp', appId: string): string {
  return `${env}/${proxy === 'tcp' ? 'stream' : 'http'}/${fileName(appId)}`;
}
