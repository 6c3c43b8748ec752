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

const ENCODABLE = /^[a-z0-9./-]*$/;

// One test and three replacements (no escape contains `-`, `.` or `/`) instead of a test and a
// concatenation per character: two names per service, 20,000 at a first run over 10,000 services.
function encode(s: string): string {
  if (!ENCODABLE.test(s)) {
    const ch = [...s].find((c) => !/^[a-z0-9./-]$/.test(c));
    throw new Error(`cannot encode ${JSON.stringify(ch)} in a name; validate first`);
  }
  return s.replaceAll('-', '_1').replaceAll('.', '_2').replaceAll('/', '_0');
}

// A per-port service (model/service-key) appends `_4` and its port reference: a port name keeps
// lowercase letters and digits, `-` → `_1` and an uppercase letter → `_5` + the letter in lowercase
// (port names may have capitals; names here are lowercase). `_4` never occurs in an app id's
// encoding, so `/a` port `b` and an app `/a…` cannot meet; a main service keeps its old name.
function encodePort(port: string): string {
  let out = '';
  for (const ch of port) {
    if (/[a-z0-9]/.test(ch)) out += ch;
    else if (/[A-Z]/.test(ch)) out += `_5${ch.toLowerCase()}`;
    else if (ch === '-') out += '_1';
    else throw new Error(`cannot encode ${JSON.stringify(ch)} in a port name; validate first`);
  }
  return out;
}

function appPart(appId: string, port?: string | null): string {
  const plain = encode(appId.replace(/^\//, '')) + (port === undefined || port === null ? '' : `_4${encodePort(port)}`);
  if (plain.length <= ENCODED_MAX) return plain;
  const hashed = port === undefined || port === null ? appId : `${appId}#${port}`;
  return `${plain.slice(0, HASHED_PREFIX)}_3${createHash('sha256').update(hashed).digest('hex').slice(0, 32)}`;
}

/** Nginx upstream name for an app's main service: `berth__<env>__<app>`, unique per (env, app id). */
export function upstreamName(env: string, appId: string): string {
  return `berth__${encode(env)}__${appPart(appId)}`;
}

/** File name (without folder) of an app's main service config, e.g. `/team/web` → `team_0web.conf`. */
export function fileName(appId: string): string {
  return `${appPart(appId)}.conf`;
}

/** Path of a main service's file relative to the Nginx dir: `<env>/http/<file>` or `<env>/stream/<file>`. */
export function relativePath(env: string, proxy: 'http' | 'tcp', appId: string): string {
  return `${env}/${proxy === 'tcp' ? 'stream' : 'http'}/${fileName(appId)}`;
}

/** Upstream name of any service (main or per-port): `berth__<env>__<app>[_4<port>]`, unique per (env, app id, port). */
export function serviceUpstreamName(s: { env: string; appId: string; port?: string | null }): string {
  return `berth__${encode(s.env)}__${appPart(s.appId, s.port)}`;
}

/** Path of any service's file: port `admin` of `/team/web` → `<env>/http/team_0web_4admin.conf`. */
export function servicePath(s: { env: string; appId: string; port?: string | null }, proxy: 'http' | 'tcp'): string {
  return `${s.env}/${proxy === 'tcp' ? 'stream' : 'http'}/${appPart(s.appId, s.port)}.conf`;
}

/**
 * Cookie of a `berth.sticky=cookie` upstream: `berth_` + 64 bits of SHA-256 of the upstream name.
 * Per upstream, so two services a browser reaches on one host never read each other's cookie; short,
 * since it travels with every request; stable while the service's env, app id and port stay.
 */
export function stickyCookieName(upstream: string): string {
  return `berth_${createHash('sha256').update(upstream).digest('hex').slice(0, 16)}`;
}

/**
 * Path of a shared domain's file (docs/nginx.md "Path prefixes"): `<env>/http/_6<domain>.conf`.
 * `_6` never occurs in an app's encoding (its escapes are `_0`..`_5`), so the name cannot be an
 * app's; a name too long for a file keeps a readable prefix and ends in `_3` + a hash, as app names do.
 */
export function domainGroupPath(env: string, domain: string): string {
  const plain = `_6${encode(domain)}`;
  const name = plain.length <= ENCODED_MAX ? plain : `${plain.slice(0, HASHED_PREFIX)}_3${createHash('sha256').update(domain).digest('hex').slice(0, 32)}`;
  return `${env}/http/${name}.conf`;
}

/** True for a shared domain's file (`domainGroupPath`), false for a service's. */
export function isDomainGroupPath(path: string): boolean {
  const slash = path.lastIndexOf('/');
  return path.startsWith('_6', slash + 1);
}
