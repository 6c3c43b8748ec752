/**
 * The intake's checks on untrusted input that the label parse (spec.ts) runs first: the app id,
 * berth's label keys and values, the fixed IP against the address policy and the pools' holders,
 * and endpoints that would be berth's own sockets. Each refusal is a problem naming the value.
 */
import type { App } from '../marathon/types';
import { checkAppId, checkUntrusted, display, fixedIpRefusal, isClean, isIpLiteral, selfSocket, shortHash, type AddressPolicy } from '../rules';
import type { LabelNames } from './labels';
import type { NetworkMode } from './ports';
import { PROBLEM_CODES as C, problem } from './problems';
import type { Problem } from './types';

/**
 * Who holds an address of a managed IPAM pool: undefined when no rule applies (the address is in no
 * pool, or free for reconciliation to claim); `holder` null when no app may use it (`reason` says why).
 */
export type PoolHolderLookup = (ip: string) => { pool: string; holder: string | null; reason?: string } | undefined;

/**
 * The key problems of an app with an unusable id are stored under: printable ASCII (JSON-escaped),
 * at most ~180 characters, and distinct for distinct ids (a hash of the raw value).
 */
export function safeAppKey(raw: unknown): string {
  const s = typeof raw === 'string' ? raw : String(raw);
  return `invalid:${display(s, 160)}#${shortHash(s)}`;
}

/** True when `raw` is an app id berth can store (the rule IPAM's owners satisfy too). */
export function isUsableAppId(raw: unknown): raw is string {
  return checkAppIdString(raw).ok;
}

/**
 * App ids found usable: a snapshot checks each id four times (the label parse, the pool holders and
 * IPAM's input, its live list), and every snapshot the same 10,000 again. Bounded: cleared when full.
 */
const usableIds = new Set<string>();
const USABLE_IDS_MAX = 100_000;
function rememberUsable(id: string): void {
  if (usableIds.size >= USABLE_IDS_MAX) usableIds.clear();
  usableIds.add(id);
}

type IdCheck = { ok: true; value: string } | { ok: false; problem: Problem };

/** The app id as a clean Marathon PathId, or the APP_ID_INVALID problem keyed by a safe form of it. */
export function checkAppIdString(raw: unknown): IdCheck {
  if (typeof raw === 'string' && usableIds.has(raw)) return { ok: true, value: raw };
  const clean = checkUntrusted(raw, 'appId');
  const grammar = clean.ok ? checkAppId(clean.value) : null;
  if (clean.ok && grammar?.ok) {
    if (clean.value === raw) rememberUsable(raw);
    return { ok: true, value: clean.value };
  }
  const reason = !clean.ok ? clean.message : grammar && !grammar.ok ? grammar.reason : 'unusable';
  const key = safeAppKey(raw);
  return { ok: false, problem: problem(C.APP_ID_INVALID, key, null, `app id "${display(raw)}": ${reason}`, { appId: display(raw), reason }) };
}

interface DirtyLabel {
  key: string;
  value: unknown;
  reason: string;
  message: string;
}

/** berth's labels (keys with the prefix) whose key or value is not a clean string; `known` adds keys whose value is read (per-port labels). */
export function dirtyLabels(
  labels: Record<string, unknown>,
  names: LabelNames,
  prefix: string,
  alsoRead: (key: string) => boolean = () => false,
): DirtyLabel[] {
  const out: DirtyLabel[] = [];
  const known = knownKeys(names);
  for (const [key, value] of Object.entries(labels)) {
    if (!key.startsWith(prefix)) continue;
    const k = checkUntrusted(key, 'labelKey');
    if (!k.ok) {
      out.push({ key, value, reason: k.reason, message: `label key: ${k.message}` });
      continue;
    }
    if ((!known.has(key) && !alsoRead(key)) || value === undefined) continue;
    const v = checkUntrusted(value, 'labelValue');
    if (!v.ok && v.reason !== 'empty') out.push({ key, value, reason: v.reason, message: v.message.replace(/^labelValue/, 'value') });
  }
  return out;
}

// Built once per set of label names, not once per app: a snapshot parses every app with the same names.
const knownCache = new WeakMap<LabelNames, ReadonlySet<string>>();
function knownKeys(names: LabelNames): ReadonlySet<string> {
  let known = knownCache.get(names);
  if (!known) knownCache.set(names, (known = new Set<string>(Object.values(names))));
  return known;
}

/** Address policy and IPAM ownership for a fixed IP; each refusal is a problem naming the address. */
export function checkFixedIp(
  ip: string,
  appId: string,
  label: string,
  policy: AddressPolicy | undefined,
  holderOf: PoolHolderLookup | undefined,
  problems: Problem[],
): void {
  const refused = policy ? fixedIpRefusal(ip, policy) : null;
  if (refused) problems.push(problem(C.FIXED_IP_REFUSED, appId, null, `${label}: ${refused.reason}`, { label, ip }));
  const held = holderOf?.(ip);
  if (held === undefined) return;
  if (held.holder === null) {
    problems.push(
      problem(
        C.IP_NOT_ALLOCATED,
        appId,
        null,
        held.reason
          ? `${label}: ${ip} is ${held.reason} in pool ${held.pool}; no app may use it`
          : `${label}: ${ip} is in pool ${held.pool} but not allocated to this app (allocate it, or POST the app to /v1/apps/prepare)`,
        { label, ip, pool: held.pool, ...(held.reason ? { reason: held.reason } : {}) },
      ),
    );
  } else if (held.holder !== appId) {
    problems.push(
      problem(C.IP_ALLOCATED_TO_OTHER, appId, null, `${label}: ${ip} in pool ${held.pool} is allocated to ${held.holder}`, {
        label,
        ip,
        pool: held.pool,
        holder: held.holder,
      }),
    );
  }
}

const selfPortsCache = new WeakMap<AddressPolicy, ReadonlySet<number>>();
function selfPorts(policy: AddressPolicy): ReadonlySet<number> {
  let ports = selfPortsCache.get(policy);
  if (!ports) selfPortsCache.set(policy, (ports = new Set(policy.self.map((s) => s.port))));
  return ports;
}

/** Endpoints that would be berth's own sockets: the fixed IP, or any task address Marathon reports now. */
export function selfEndpoints(
  app: App,
  fixedIp: string | null,
  network: NetworkMode,
  port: { number: number; index: number | null },
  appId: string,
  policy: AddressPolicy,
  problems: Problem[],
): void {
  if (policy.self.length === 0) return;
  // Only a port of berth's own can be hit: the others skip the per-task address checks (with
  // 6,000 tasks those were a sixth of a snapshot's spec time).
  const ports = selfPorts(policy);
  if (network !== 'host' && !ports.has(port.number)) return;
  const hits = new Map<string, string>();
  const check = (address: string, p: number | undefined): void => {
    if (p === undefined) return;
    const s = selfSocket(address, p, policy);
    if (s) hits.set(`${address}:${p}`, s.what);
  };
  if (fixedIp !== null) check(fixedIp, port.number);
  for (const t of Array.isArray(app.tasks) ? app.tasks : []) {
    if (!t) continue;
    if (network === 'container') {
      for (const a of Array.isArray(t.ipAddresses) ? t.ipAddresses : [])
        if (a && isClean(a.ipAddress, 'ip') && isIpLiteral(a.ipAddress)) check(a.ipAddress, port.number);
    } else if (
      network === 'host' &&
      port.index !== null &&
      Array.isArray(t.ports) &&
      ports.has(t.ports[port.index]) &&
      isClean(t.host, 'host') &&
      isIpLiteral(t.host)
    ) {
      check(t.host, t.ports[port.index]);
    }
  }
  for (const [endpoint, what] of hits) {
    problems.push(
      problem(C.ENDPOINT_SELF, appId, null, `endpoint ${endpoint} is berth's own ${what} socket; it is never published`, { endpoint, socket: what }),
    );
  }
}
