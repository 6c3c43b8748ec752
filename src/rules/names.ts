/**
 * What a valid app id, DNS label, domain, environment name and port name are: one definition each,
 * used by the model (labels), Nginx (defence in depth before rendering), DNS, IPAM and the
 * configuration, so an app is published everywhere or nowhere.
 */
import { bad, ok, type Checked } from './checked';
import { MAX_LENGTH } from './strings';

/** A DNS label (RFC 1035 §2.3.1 LDH, RFC 1123 lets it start with a digit), 1..63 characters. */
export const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Longest DNS name in text form: 255 octets on the wire minus the first length byte and the root. */
export const DOMAIN_MAX_LENGTH = 253;

/** Longest Marathon app id berth publishes (Nginx file names, DNS, database and IPAM alike). */
export const APP_ID_MAX_LENGTH = MAX_LENGTH.appId;

/** Longest environment name. */
export const ENV_MAX_LENGTH = MAX_LENGTH.envName;

/** An environment name: it becomes a directory, a DNS view and part of Nginx upstream names. */
export const ENV_NAME = new RegExp(`^[a-z0-9-]{1,${ENV_MAX_LENGTH}}$`);

/** The same rule as a JSON Schema `pattern` (HTTP routes). */
export const ENV_NAME_PATTERN = ENV_NAME.source;

/** A port name from `portMappings[].name`: short enough that `_<name>` is still a DNS label. */
export const PORT_NAME = new RegExp(`^[a-z0-9](?:[a-z0-9-]{0,${MAX_LENGTH.portName - 2}}[a-z0-9])?$`, 'i');

/** True when `s` is one DNS label. */
export function isDnsLabel(s: string): boolean {
  return DNS_LABEL.test(s);
}

/**
 * One DNS name: lowercased, trailing dot dropped, ≤ 253 characters, labels 1..63 of [a-z0-9-] with
 * no leading or trailing hyphen, last label not numeric (it would read as an IPv4 address). No
 * wildcards (`*.`): DNS answers exact names only, and a name Nginx served but DNS did not would be
 * published in one place only. No `_`: Nginx server_name and resolvers treat it inconsistently.
 */
export function checkDomain(raw: string): Checked<string> {
  let name = raw.trim().toLowerCase();
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name.length === 0) return bad('empty name');
  if (name.length > DOMAIN_MAX_LENGTH) return bad(`name longer than ${DOMAIN_MAX_LENGTH} characters (${name.length})`);
  const labels = name.split('.');
  for (const l of labels) {
    if (l.length === 0) return bad('empty label');
    if (l.length > 63) return bad(`label longer than 63 characters: ${l.slice(0, 20)}…`);
    if (l === '*') return bad('wildcard names are not served');
    if (!DNS_LABEL.test(l)) return bad(`label "${l}" is not letters, digits and inner hyphens`);
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1])) return bad('last label is numeric');
  return ok(name);
}

/** True when `name` is already a normalised valid domain (what consumers receive). */
export function isDomain(name: unknown): name is string {
  if (typeof name !== 'string') return false;
  const c = checkDomain(name);
  return c.ok && c.value === name;
}

/** An environment name `[a-z0-9-]{1,32}`, trimmed. */
export function checkEnv(raw: string): Checked<string> {
  const s = raw.trim();
  if (!ENV_NAME.test(s)) return bad(`not ${ENV_NAME.source.slice(1, -1)}`);
  return ok(s);
}

/** True when `env` is a valid environment name as is. */
export function isEnv(env: unknown): env is string {
  return typeof env === 'string' && ENV_NAME.test(env);
}

/** A Marathon port name, as given (case kept, trimmed). */
export function checkPortName(raw: string): Checked<string> {
  const s = raw.trim();
  if (!PORT_NAME.test(s)) return bad('not a port name');
  return ok(s);
}

/** True when `name` is a valid port name as is. */
export function isPortName(name: unknown): name is string {
  return typeof name === 'string' && PORT_NAME.test(name);
}

/**
 * A Marathon app id (marathon PathId): absolute, `/`-separated segments, each one or more
 * dot-joined DNS labels; at most `APP_ID_MAX_LENGTH` characters. `.` and `..` segments are refused
 * (Marathon resolves them; an id that still has them is not canonical).
 */
export function checkAppId(raw: string): Checked<string> {
  if (raw.length === 0) return bad('empty app id');
  if (raw.length > APP_ID_MAX_LENGTH) return bad(`app id longer than ${APP_ID_MAX_LENGTH} characters (${raw.length})`);
  if (!raw.startsWith('/')) return bad('app id is not absolute (must start with /)');
  const segments = raw.slice(1).split('/');
  for (const seg of segments) {
    if (seg.length === 0) return bad('app id has an empty segment');
    if (!seg.split('.').every((l) => DNS_LABEL.test(l))) {
      return bad('app id segments are lowercase letters, digits, inner "-" and "." between labels');
    }
  }
  return ok(raw);
}

/** True when `id` is a valid app id. */
export function isAppId(id: unknown): id is string {
  return typeof id === 'string' && checkAppId(id).ok;
}

/**
 * How environments share Nginx: `shared` (the shipped nginx.conf includes every environment's
 * folder in one `http {}` and one `stream {}`), so a server_name or a tcp listen port belongs to one
 * app across all environments; `per-env`: each environment has its own Nginx.
 */
export type NginxScope = 'shared' | 'per-env';

/** The Nginx name space an environment renders into: the key that server_name and listen claims conflict in. */
export function nginxSpaceOf(env: string, scope: NginxScope): string {
  return scope === 'shared' ? '' : env;
}

/** A Marathon task id as berth publishes it (it is printed in Nginx comments, the API and logs). */
export const TASK_ID = new RegExp(`^[A-Za-z0-9._:-]{1,${MAX_LENGTH.taskId}}$`);

/** True when `id` is a publishable task id. */
export function isTaskId(id: unknown): id is string {
  return typeof id === 'string' && TASK_ID.test(id);
}

/** A Mesos agent as Marathon names it (a host name or an address); informative only. */
export function isAgentHost(host: unknown): host is string {
  return typeof host === 'string' && host.length <= MAX_LENGTH.host && /^[A-Za-z0-9.:-]+$/.test(host);
}

/**
 * A host name as a client writes it in an HTTP `Host` header (lower-case, no port, no trailing dot).
 * Looser than a DNS label: machine names with `_` exist, and the check only decides whether a
 * configured allow-list entry is well-formed.
 */
const HOST_NAME = /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

export function isHostName(name: string): boolean {
  return HOST_NAME.test(name);
}
