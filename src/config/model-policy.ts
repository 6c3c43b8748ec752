/**
 * What the model needs from configuration to decide names and addresses: the reserved DNS names,
 * the fixed-IP ranges, whether environments share Nginx, and berth's own sockets (API, DNS, the
 * database), which are never published as an endpoint.
 */
import os from 'node:os';
import type { SpecOptions } from '../model/spec';
import { isIpLiteral, type Socket } from '../rules';
import type { Config } from './schema';

export type ModelPolicy = Omit<SpecOptions, 'defaultEnv' | 'labelPrefix'>;

interface Listen {
  host: string;
  port: number;
}

/** Addresses a listen on `host` accepts: a wildcard listen is every local address. */
function listenAddresses(host: string, interfaces: () => string[]): string[] {
  if (host === '0.0.0.0') return ['0.0.0.0', ...interfaces().filter((a) => !a.includes(':'))];
  if (host === '::' || host === '[::]') return ['::', '0.0.0.0', ...interfaces()];
  if (host === 'localhost') return ['127.0.0.1', '::1'];
  return [host];
}

function localInterfaceAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(os.networkInterfaces())) for (const i of list ?? []) out.push(i.address.replace(/%.*$/, ''));
  return out;
}

/** host:port of a postgres URL, or null (embedded database, or an unparsable URL). */
function databaseSocket(url: string | undefined): { host: string; port: number } | null {
  if (!url) return null;
  try {
    const u = new URL(url);
    const host = u.hostname.replace(/^\[|\]$/g, '');
    if (host === '' || host.startsWith('/')) return null;
    return { host, port: u.port === '' ? 5432 : Number(u.port) };
  } catch {
    return null;
  }
}

/** berth's own sockets for `config`. */
export function selfSockets(config: { http: Listen; dns: Listen; databaseUrl?: string }, interfaces: () => string[] = localInterfaceAddresses): Socket[] {
  const out: Socket[] = [];
  const add = (host: string, port: number, what: string): void => {
    for (const h of listenAddresses(host, interfaces)) if (isIpLiteral(h) || what === 'database') out.push({ host: h, port, what });
  };
  add(config.http.host, config.http.port, 'API');
  add(config.dns.host, config.dns.port, 'DNS');
  const db = databaseSocket(config.databaseUrl);
  if (db) add(db.host, db.port, 'database');
  return out;
}

/** The model's policy for `config`. */
export function modelPolicyOf(config: Config): ModelPolicy {
  return {
    reserved: { zones: config.dns.zones },
    addresses: { allow: config.fixedIp.allow, deny: config.fixedIp.deny, self: selfSockets(config) },
    nginxScope: config.nginxScope,
    labelsDeny: config.labelsDeny,
  };
}
