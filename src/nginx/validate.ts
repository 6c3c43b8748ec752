import type { Endpoint, Service } from '../model/types';
import {
  isAllowEntry,
  isAppId,
  isStickyMode,
  isDomain,
  isEnv,
  isIpLiteral,
  isPathPrefix,
  isPort,
  isPortName,
  isPortRef,
  isTaskId,
  PATH_LIMITS,
  PROXY_OPTION_LIMITS as L,
} from '../rules';

// Defence in depth: model/ validated every value already, but a value reaching an Nginx file is
// checked again right before rendering, so a bug upstream cannot turn a label into a directive.
// The rules are the model's own (src/rules), so Nginx and DNS accept exactly the same services;
// every accepted value is made only of characters that are inert in Nginx syntax (no whitespace,
// `;`, `{`, `}`, `#`, quotes, `$` or backslash).

export const isValidEnv = isEnv;
export const isValidAppId = isAppId;
export const isValidDomain = isDomain;
export const isValidPort = isPort;

/** An IPv4 dotted quad or an IPv6 literal without zone id, as text. */
export function isValidAddress(address: unknown): address is string {
  return typeof address === 'string' && isIpLiteral(address);
}

function endpointErrors(e: Endpoint, i: number): string[] {
  const errs: string[] = [];
  if (!isValidAddress(e.address)) errs.push(`endpoint ${i}: invalid address ${JSON.stringify(e.address)}`);
  if (!isValidPort(e.port)) errs.push(`endpoint ${i}: invalid port ${JSON.stringify(e.port)}`);
  if (!isTaskId(e.taskId)) errs.push(`endpoint ${i}: invalid task id ${JSON.stringify(e.taskId)}`);
  return errs;
}

const within = (v: unknown, min: number, max: number): boolean => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

function optionErrors(o: NonNullable<Service['options']>, proxy: Service['proxy']): string[] {
  const errs: string[] = [];
  if (o.connectTimeout !== undefined && !within(o.connectTimeout, L.connectTimeout.min, L.connectTimeout.max)) errs.push('invalid connect timeout');
  if (o.readTimeout !== undefined && !within(o.readTimeout, L.readTimeout.min, L.readTimeout.max)) errs.push('invalid read timeout');
  if (o.bodyMax !== undefined && !within(o.bodyMax, L.bodyMax.min, L.bodyMax.max)) errs.push('invalid body size');
  if (o.allow !== undefined && (!Array.isArray(o.allow) || o.allow.length === 0 || o.allow.length > L.allowEntries || !o.allow.every(isAllowEntry))) {
    errs.push('invalid allow list');
  }
  if (o.sticky !== undefined && !isStickyMode(o.sticky)) errs.push('invalid sticky mode');
  // A stream server has no cookies: its template would hash on a variable that does not exist there.
  if (o.sticky === 'cookie' && proxy === 'tcp') errs.push('sticky cookie on a tcp service');
  return errs;
}

/** `berth.path`: each prefix becomes a `location`, once (a repeated one would fail `nginx -t`). */
function pathErrors(s: Service): string[] {
  const p: unknown = s.paths;
  if (p === undefined) return s.pathStrip === undefined ? [] : ['path strip without paths'];
  if (s.proxy !== 'http' || s.port !== undefined) return ['paths on a service that is not the main http service'];
  if (!Array.isArray(p) || p.length === 0 || p.length > PATH_LIMITS.count || !p.every(isPathPrefix) || new Set(p).size !== p.length) return ['invalid paths'];
  if (s.pathStrip !== undefined && s.pathStrip !== true) return ['invalid path strip'];
  return [];
}

/** Reasons this service must not be rendered; empty when every value is safe. */
export function serviceErrors(s: Service): string[] {
  const errs: string[] = [];
  if (!isValidEnv(s.env)) errs.push(`invalid env ${JSON.stringify(s.env)}`);
  if (!isValidAppId(s.appId)) errs.push(`invalid app id ${JSON.stringify(s.appId)}`);
  if (s.port !== undefined && !isPortRef(s.port)) errs.push(`invalid port reference ${JSON.stringify(s.port)}`);
  if (s.proxy !== 'http' && s.proxy !== 'tcp') errs.push(`proxy ${JSON.stringify(s.proxy)} is not rendered`);
  if (!Array.isArray(s.domains) || s.domains.length === 0) errs.push('no domains');
  else s.domains.forEach((d) => isValidDomain(d) || errs.push(`invalid domain ${JSON.stringify(d)}`));
  if (s.proxy === 'tcp' && !isValidPort(s.listen)) errs.push(`invalid listen port ${JSON.stringify(s.listen)}`);
  if (!isValidPort(s.servicePort)) errs.push(`invalid service port ${JSON.stringify(s.servicePort)}`);
  if (s.portName !== null && !isPortName(s.portName)) {
    errs.push(`invalid port name ${JSON.stringify(s.portName)}`);
  }
  if (s.fixedIp !== null && !isValidAddress(s.fixedIp)) errs.push(`invalid fixed ip ${JSON.stringify(s.fixedIp)}`);
  if (s.options !== undefined) errs.push(...optionErrors(s.options, s.proxy));
  errs.push(...pathErrors(s));
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
