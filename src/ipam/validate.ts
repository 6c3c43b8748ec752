/** Pure validation of pool definitions, app ids and requested addresses. */
import { BerthError } from '../errors';
import { APP_ID_MAX_LENGTH, checkAppId as appIdRule, display, isClean } from '../rules';
import { cidrContains, cidrLast, formatCidr, formatIp, hostRange, parseCidr, parseIp, type Cidr, type Ip } from './address';
import { checkPoolCidr } from './special-ranges';
import type { PoolPlan, PoolSpec } from './types';

/** Default IPv6 window: a /64 cannot be pre-populated, so allocate from its first 65,536 hosts. */
export const IPV6_DEFAULT_WINDOW = 65536n;
/** Largest allocation window (rows pre-populated per pool): an IPv4 /12, or an explicit IPv6 range. */
export const MAX_WINDOW = 1n << 20n;
export const DEFAULT_QUARANTINE_SECONDS = 900;

const POOL_NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;
const DOCKER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;
// Linux IFNAMSIZ is 16 including the NUL byte.
const BRIDGE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,14}$/;

/** An absolute Marathon app id such as `/team/app-1`; throws INVALID_APP_ID otherwise. */
export function checkAppId(raw: unknown): string {
  // The one app id rule (src/rules): IPAM owners are the apps the model can publish.
  const s = typeof raw === 'string' ? raw : '';
  const c = isClean(s, 'appId') ? appIdRule(s) : null;
  if (!c?.ok) {
    throw new BerthError(
      'INVALID_APP_ID',
      `"${display(s, 80)}" is not a Marathon app id (absolute path like /team/app-1: lowercase letters, digits, "-" and "." in each segment, at most ${APP_ID_MAX_LENGTH} characters)`,
      { appId: display(s, 200) },
    );
  }
  return s;
}

export function checkPoolName(raw: unknown): string {
  const s = typeof raw === 'string' ? raw : '';
  if (!POOL_NAME.test(s)) throw new BerthError('BAD_REQUEST', `pool name "${s.slice(0, 80)}" must match ${POOL_NAME.source}`, { field: 'name' });
  return s;
}

/** A strict IP literal; throws INVALID_IP naming `field`. */
export function checkIp(raw: unknown, field: string): Ip {
  const ip = typeof raw === 'string' ? parseIp(raw) : null;
  if (!ip) throw new BerthError('INVALID_IP', `${field}: "${String(raw).slice(0, 60)}" is not an IP address`, { field });
  return ip;
}

function checkCidr(raw: unknown, field: string): Cidr {
  const r = parseCidr(String(raw));
  if (!r.ok) throw new BerthError('INVALID_CIDR', `${field}: "${String(raw).slice(0, 60)}": ${r.why}`, { field });
  return r.cidr;
}

function inside(pool: Cidr, ip: Ip, field: string): void {
  if (!cidrContains(pool, ip)) {
    throw new BerthError('INVALID_IP', `${field}: ${formatIp(ip)} is outside the pool ${formatCidr(pool)}`, { field });
  }
}

/** `a.b.c.d`, `a.b.c.d/n` or `first-last`, inside the pool, as an inclusive range. */
function parseReservation(raw: string, pool: Cidr, field: string): { first: bigint; last: bigint } {
  if (raw.includes('/')) {
    const c = checkCidr(raw, field);
    inside(pool, { family: c.family, value: c.network }, field);
    inside(pool, { family: c.family, value: cidrLast(c) }, field);
    return { first: c.network, last: cidrLast(c) };
  }
  const [a, b, extra] = raw.split('-');
  if (extra !== undefined) throw new BerthError('INVALID_IP', `${field}: "${raw.slice(0, 60)}" is not an address, CIDR or first-last range`, { field });
  const first = checkIp(a, field);
  const last = b === undefined ? first : checkIp(b, field);
  inside(pool, first, field);
  inside(pool, last, field);
  if (last.value < first.value) throw new BerthError('INVALID_IP', `${field}: range "${raw}" ends before it starts`, { field });
  return { first: first.value, last: last.value };
}

/** Validates a pool definition and computes its allocation window and reservations. */
export function planPool(spec: PoolSpec): PoolPlan {
  const name = checkPoolName(spec.name);
  const cidr = checkCidr(spec.cidr, 'cidr');
  const overridden = checkPoolCidr(cidr, spec.allowSpecial === true);
  const fam = cidr.family;
  const hosts = hostRange(cidr);
  const ip = (v: bigint) => formatIp({ family: fam, value: v });

  const gw = spec.gateway === undefined ? { family: fam, value: hosts.first } : checkIp(spec.gateway, 'gateway');
  inside(cidr, gw, 'gateway');

  let first = hosts.first;
  let last = fam === 6 && hosts.last - hosts.first + 1n > IPV6_DEFAULT_WINDOW ? hosts.first + IPV6_DEFAULT_WINDOW - 1n : hosts.last;
  if (spec.allocationRange) {
    const r = parseReservation(`${spec.allocationRange.first}-${spec.allocationRange.last}`, cidr, 'allocationRange');
    first = r.first < hosts.first ? hosts.first : r.first;
    last = r.last > hosts.last ? hosts.last : r.last;
  }
  if (last - first + 1n > MAX_WINDOW) {
    throw new BerthError(
      'INVALID_CIDR',
      `cidr: ${formatCidr(cidr)} has ${last - first + 1n} allocatable addresses; at most ${MAX_WINDOW} per pool (use a longer prefix or allocationRange)`,
      { field: 'cidr' },
    );
  }

  const reservations: Array<{ first: bigint; last: bigint; reason: string }> = [{ first: gw.value, last: gw.value, reason: 'gateway' }];
  const reserved = [...new Set(spec.reserved ?? [])];
  reserved.forEach((r, i) => reservations.push({ ...parseReservation(r, cidr, `reserved[${i}]`), reason: 'reserved' }));
  const aux: Record<string, string> = {};
  for (const [host, addr] of Object.entries(spec.auxAddresses ?? {})) {
    if (!DOCKER_NAME.test(host))
      throw new BerthError('BAD_REQUEST', `auxAddresses: "${host.slice(0, 60)}" is not a valid host name`, { field: 'auxAddresses' });
    const a = checkIp(addr, `auxAddresses.${host}`);
    inside(cidr, a, `auxAddresses.${host}`);
    aux[host] = formatIp(a);
    reservations.push({ first: a.value, last: a.value, reason: `docker --aux-address ${host}` });
  }
  let ipRange: string | null = null;
  if (spec.ipRange !== undefined) {
    if (!spec.ipRange.includes('/')) throw new BerthError('INVALID_CIDR', 'ipRange: must be a CIDR (Docker --ip-range)', { field: 'ipRange' });
    const r = parseReservation(spec.ipRange, cidr, 'ipRange');
    ipRange = formatCidr(checkCidr(spec.ipRange, 'ipRange'));
    reservations.push({ ...r, reason: 'docker --ip-range' });
  }
  for (const [field, value, re] of [
    ['dockerNetwork', spec.dockerNetwork, DOCKER_NAME],
    ['bridgeName', spec.bridgeName, BRIDGE_NAME],
  ] as const) {
    if (value !== undefined && !re.test(value)) throw new BerthError('BAD_REQUEST', `${field}: "${value.slice(0, 60)}" must match ${re.source}`, { field });
  }
  return {
    name,
    family: fam,
    cidr: formatCidr(cidr),
    gateway: ip(gw.value),
    allocFirst: ip(first),
    allocLast: ip(last),
    reservations: reservations.map((r) => ({ first: ip(r.first), last: ip(r.last), reason: r.reason })),
    reserved,
    auxAddresses: aux,
    ipRange,
    dockerNetwork: spec.dockerNetwork ?? null,
    bridgeName: spec.bridgeName ?? null,
    quarantineSeconds: spec.quarantineSeconds ?? DEFAULT_QUARANTINE_SECONDS,
    overridden,
  };
}

/** An address, CIDR or first-last range inside the pool's CIDR, as canonical text bounds. */
export function planReservation(poolCidr: string, raw: unknown): { first: string; last: string; text: string } {
  const cidr = checkCidr(poolCidr, 'pool');
  const text = typeof raw === 'string' ? raw.trim() : '';
  const r = parseReservation(text, cidr, 'address');
  return { first: formatIp({ family: cidr.family, value: r.first }), last: formatIp({ family: cidr.family, value: r.last }), text };
}
