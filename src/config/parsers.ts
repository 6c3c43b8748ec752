import net from 'node:net';
import ipaddr from 'ipaddr.js';
import { checkDomain, ENV_NAME, isEnv, isHostName, LABEL_NAME, type NginxScope } from '../rules';

/** A parser turns a raw string (or JSON value from the file) into a value, or throws a reason. */
export type Parser<T> = (raw: unknown) => T;

export class Invalid extends Error {}

function str(raw: unknown): string {
  if (typeof raw === 'string') return raw.trim();
  if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
  throw new Invalid(`must be a string, got ${JSON.stringify(raw)}`);
}

export const text: Parser<string> = (raw) => str(raw);

export function integer(min: number, max = Number.MAX_SAFE_INTEGER): Parser<number> {
  return (raw) => {
    const s = str(raw);
    if (!/^-?\d+$/.test(s) || Number(s) < min || Number(s) > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `≥ ${min} and ≤ ${max}`;
      throw new Invalid(`must be an integer ${range}, got ${JSON.stringify(s)}`);
    }
    return Number(s);
  };
}

export function ratio(raw: unknown): number {
  const s = str(raw);
  const n = Number(s);
  if (s === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new Invalid(`must be a number between 0 and 1, got ${JSON.stringify(s)}`);
  return n;
}

/** Comma-separated list (or a JSON array in the file); empty entries dropped. */
export function list<T>(item: Parser<T>): Parser<T[]> {
  return (raw) => {
    const parts = Array.isArray(raw) ? raw : str(raw).split(',');
    return parts
      .map((p) => str(p))
      .filter((p) => p !== '')
      .map((p) => item(p));
  };
}

export function oneOf<T extends string>(...values: T[]): Parser<T> {
  return (raw) => {
    const s = str(raw);
    if (!(values as string[]).includes(s)) throw new Invalid(`must be one of ${values.join(', ')}, got ${JSON.stringify(s)}`);
    return s as T;
  };
}

export const httpUrl: Parser<string> = (raw) => {
  const s = str(raw).replace(/\/+$/, '');
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new Invalid(`must be an http(s) URL, got ${JSON.stringify(s)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Invalid(`must be an http(s) URL, got ${JSON.stringify(s)}`);
  return s;
};

export const postgresUrl: Parser<string> = (raw) => {
  const s = str(raw);
  if (!/^postgres(ql)?:\/\//.test(s)) throw new Invalid('must be a postgres:// or postgresql:// URL');
  return s;
};

/** `host:port`, `[v6]:port` or a bare `port` (then host = defaultHost). */
export function hostPort(defaultHost: string): Parser<{ host: string; port: number }> {
  return (raw) => {
    const s = str(raw);
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(s) ?? /^()()(\d{1,5})$/.exec(s);
    const port = m ? Number(m[3]) : NaN;
    if (!m || port > 65535) throw new Invalid(`must be host:port or port, got ${JSON.stringify(s)}`);
    const host = m[1] || m[2] || defaultHost;
    return { host, port };
  };
}

export const ipAddress: Parser<string> = (raw) => {
  const s = str(raw);
  if (!net.isIP(s)) throw new Invalid(`must be an IP address, got ${JSON.stringify(s)}`);
  return s;
};

/** A resolver address, `ip` or `ip:port` / `[v6]:port`, default port 53. */
export const resolverAddr: Parser<string> = (raw) => {
  const s = str(raw);
  if (net.isIP(s)) return s.includes(':') ? `[${s}]:53` : `${s}:53`;
  const { host, port } = hostPort('')(s);
  if (!net.isIP(host)) throw new Invalid(`must be an IP address with an optional port, got ${JSON.stringify(s)}`);
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
};

export const cidr: Parser<string> = (raw) => {
  const s = str(raw);
  try {
    const [addr, len] = ipaddr.parseCIDR(s);
    return `${addr.toString()}/${len}`;
  } catch {
    throw new Invalid(`must be a CIDR like 10.0.0.0/24, got ${JSON.stringify(s)}`);
  }
};

/** A DNS zone name, lowercase, no trailing dot (the domain rule of src/rules). */
export const zoneName: Parser<string> = (raw) => {
  const c = checkDomain(str(raw));
  if (!c.ok) throw new Invalid(`must be a DNS name like berth.internal (${c.reason}), got ${JSON.stringify(str(raw))}`);
  return c.value;
};

export const envName: Parser<string> = (raw) => {
  const s = str(raw);
  if (!isEnv(s)) throw new Invalid(`must match ${ENV_NAME.source}, got ${JSON.stringify(s)}`);
  return s;
};

/** A label prefix such as `berth.`. */
/** A full label name for `BERTH_LABELS_DENY`, e.g. `berth.allow` (lowercase dotted words). */
export const labelName: Parser<string> = (raw) => {
  const s = str(raw);
  if (s.length > 128 || !LABEL_NAME.test(s))
    throw new Invalid(`must be a full label name like berth.allow (lowercase words joined by dots), got ${JSON.stringify(s)}`);
  return s;
};

export const labelPrefix: Parser<string> = (raw) => {
  const s = str(raw);
  if (!/^[A-Za-z0-9_.\-/]{1,64}$/.test(s)) throw new Invalid(`must be 1-64 characters of [A-Za-z0-9_.-/], got ${JSON.stringify(s)}`);
  return s;
};

/**
 * A comma-separated list (or a JSON array in the file) where an empty entry is an error, not
 * something to skip: `' , '` or `'a,,b'` is a typo, and for lists that grant or restrict access a
 * typo must stop berth rather than silently change who may do what.
 */
export function strictList<T>(item: Parser<T>): Parser<T[]> {
  return (raw) => {
    const parts = Array.isArray(raw) ? raw : str(raw).split(',');
    return parts.map((part, i) => {
      const s = str(part);
      if (s === '') throw new Invalid(`entry ${i + 1} of ${parts.length} is empty (a stray comma?); leave the variable unset or empty for none`);
      try {
        return item(s);
      } catch (e) {
        if (e instanceof Invalid && parts.length > 1) throw new Invalid(`entry ${i + 1}: ${e.message}`);
        throw e;
      }
    });
  };
}

/** Shortest accepted API token: guessable strings are not secrets. */
export const MIN_TOKEN_LENGTH = 16;
// RFC 6750 b64token: what an `Authorization: Bearer` header can carry unchanged.
const BEARER_TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** A bearer token. Messages never echo the value: it is a secret. */
export const apiToken: Parser<string> = (raw) => {
  const s = str(raw);
  if (!BEARER_TOKEN.test(s)) throw new Invalid('a token may hold only letters, digits and - . _ ~ + / (then = padding); no spaces, commas or quotes');
  if (s.length < MIN_TOKEN_LENGTH) throw new Invalid(`a token must be at least ${MIN_TOKEN_LENGTH} characters, got ${s.length}`);
  return s;
};

/** A browser origin, `scheme://host[:port]` exactly (no path, no `null`, no wildcard). */
export const webOrigin: Parser<string> = (raw) => {
  const s = str(raw);
  let u: URL | undefined;
  try {
    u = new URL(s);
  } catch {
    u = undefined;
  }
  const bare = s.replace(/\/$/, '').toLowerCase();
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:') || u.origin !== bare) {
    throw new Invalid(
      `must be an origin like https://ops.example.com or http://localhost:3000 (scheme, host and port only), got ${JSON.stringify(s.slice(0, 100))}`,
    );
  }
  return u.origin;
};

/** A host name as it appears in a `Host` header, without port; lowercase, no trailing dot. */
export const hostName: Parser<string> = (raw) => {
  const s = str(raw).toLowerCase();
  if (!isHostName(s)) throw new Invalid(`must be a host name like berth.example.internal (no port, no scheme), got ${JSON.stringify(s.slice(0, 100))}`);
  return s;
};

/** `shared` (one Nginx includes every environment) or `per-env` (one Nginx per environment). */
export const nginxScope: Parser<NginxScope> = (raw) => {
  const s = str(raw);
  if (s !== 'shared' && s !== 'per-env') throw new Invalid(`must be shared or per-env, got ${JSON.stringify(s)}`);
  return s;
};

/**
 * `BERTH_NGINX_ADMIN_LISTEN`: a loopback `ip:port` or `[v6]:port` (the admin server answers the
 * configuration generation and must not be reachable from other hosts), or empty for none.
 */
export const loopbackListen: Parser<string> = (raw) => {
  const s = str(raw);
  if (s === '') return '';
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(s);
  const port = m ? Number(m[3]) : NaN;
  const host = m ? (m[1] ?? m[2]) : '';
  if (!m || !net.isIP(host) || port < 1 || port > 65535)
    throw new Invalid(`must be a loopback ip:port or [v6]:port (or empty for none), got ${JSON.stringify(s)}`);
  if (ipaddr.process(host).range() !== 'loopback')
    throw new Invalid(`must be a loopback address (127.0.0.0/8 or ::1): the admin server must not be reachable from other hosts, got ${JSON.stringify(s)}`);
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
};
