import ipaddr from 'ipaddr.js';
import type { Endpoint, Service } from '../model/types';

// Defence in depth: model/ validated every value already, but a value reaching an Nginx file is
// checked again right before rendering, so a bug upstream cannot turn a label into a directive.
// Every accepted value is made only of characters that are inert in Nginx syntax (no whitespace,
// `;`, `{`, `}`, `#`, quotes, `$` or backslash).

const ENV = /^[a-z0-9-]{1,32}$/;
// Marathon app ids: `/`-separated segments of lowercase letters, digits, `-` and `.`.
const APP_ID = /^(\/[a-z0-9]([a-z0-9.-]{0,62}[a-z0-9])?)+$/;
// DNS label (underscore tolerated for service-style names); an optional leading `*.` wildcard.
const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;
const TASK_ID = /^[A-Za-z0-9._:@-]{1,200}$/;
const PORT_NAME = /^[A-Za-z0-9_-]{1,63}$/;

export function isValidEnv(env: unknown): env is string {
  return typeof env === 'string' && ENV.test(env);
}

export function isValidAppId(appId: unknown): appId is string {
  return typeof appId === 'string' && appId.length <= 255 && APP_ID.test(appId);
}

/** A lowercase DNS name without trailing dot, ≤ 253 characters, every label 1..63. */
export function isValidDomain(name: unknown): name is string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 253) return false;
  const labels = name.split('.');
  if (labels.length < 1) return false;
  return labels.every((l, i) => (i === 0 && l === '*' && labels.length > 1) || LABEL.test(l));
}

/** An IPv4 dotted quad or an IPv6 literal without zone id, as text. */
export function isValidAddress(address: unknown): address is string {
  if (typeof address !== 'string' || address.length > 45) return false;
  if (ipaddr.IPv4.isValidFourPartDecimal(address)) return true;
  return /^[0-9a-fA-F:.]+$/.test(address) && ipaddr.IPv6.isValid(address);
}

export function isValidPort(port: unknown): port is number {
  return typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535;
}

function endpointErrors(e: Endpoint, i: number): string[] {
  const errs: string[] = [];
  if (!isValidAddress(e.address)) errs.push(`endpoint ${i}: invalid address ${JSON.stringify(e.address)}`);
  if (!isValidPort(e.port)) errs.push(`endpoint ${i}: invalid port ${JSON.stringify(e.port)}`);
  if (typeof e.taskId !== 'string' || !TASK_ID.test(e.taskId)) errs.push(`endpoint ${i}: invalid task id ${JSON.stringify(e.taskId)}`);
  return errs;
}

/** Reasons this service must not be rendered; empty when every value is safe. */
export function serviceErrors(s: Service): string[] {
  const errs: string[] = [];
  if (!isValidEnv(s.env)) errs.push(`invalid env ${JSON.stringify(s.env)}`);
  if (!isValidAppId(s.appId)) errs.push(`invalid app id ${JSON.stringify(s.appId)}`);
  if (s.proxy !== 'http' && s.proxy !== 'tcp') errs.push(`proxy ${JSON.stringify(s.proxy)} is not rendered`);
  if (!Array.isArray(s.domains) || s.domains.length === 0) errs.push('no domains');
  else s.domains.forEach((d) => isValidDomain(d) || errs.push(`invalid domain ${JSON.stringify(d)}`));
  if (s.proxy === 'tcp' && !isValidPort(s.listen)) errs.push(`invalid listen port ${JSON.stringify(s.listen)}`);
  if (!isValidPort(s.servicePort)) errs.push(`invalid service port ${JSON.stringify(s.servicePort)}`);
  if (s.portName !== null && (typeof s.portName !== 'string' || !PORT_NAME.test(s.portName))) {
    errs.push(`invalid port name ${JSON.stringify(s.portName)}`);
  }
  if (s.fixedIp !== null && !isValidAddress(s.fixedIp)) errs.push(`invalid fixed ip ${JSON.stringify(s.fixedIp)}`);
  if (!Array.isArray(s.endpoints)) errs.push('endpoints is not a list');
  else s.endpoints.forEach((e, i) => errs.push(...endpointErrors(e, i)));
  return errs;
}

/** `80`, `127.0.0.1:8080` or `[::1]:8080` → host (null = all addresses) and port; throws on anything else. */
export function parseListen(listen: string): { host: string | null; port: number } {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[0-9.]+):)?(\d{1,5})$/.exec(listen.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || !isValidPort(port)) throw new Error(`invalid listen ${JSON.stringify(listen)}: expected port, addr:port or [v6]:port`);
  const host = m[1] ?? null;
  if (host !== null && !isValidAddress(host.replace(/^\[|\]$/g, ''))) throw new Error(`invalid listen address in ${JSON.stringify(listen)}`);
  return { host, port };
}
