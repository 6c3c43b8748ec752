/**
 * The settings of one published service: its domains, proxy mode, tcp listen port and DNS mode.
 * The same grammar for the main service (`berth.domain`, `berth.proxy`, …) and for each per-port
 * one (`berth.port.<port>.domain`, …); only the label keys differ (docs/labels.md).
 */
import { reservedReason } from '../rules';
import type { Fail } from './port-choice';
import { PROBLEM_CODES as C, problem } from './problems';
import type { SpecOptions } from './spec';
import type { DnsMode, Problem, ProxyMode } from './types';
import { checkDomainList, checkOneOf, checkPort } from './validate';

const PROXY_MODES: readonly ProxyMode[] = ['http', 'tcp', 'none'];
const DNS_MODES: readonly DnsMode[] = ['direct', 'proxy', 'none'];

/** The label keys of one service's settings. */
export interface SettingKeys {
  domain: string;
  proxy: string;
  listen: string;
  dns: string;
}

export interface ServiceSettings {
  domains: string[];
  proxy: ProxyMode;
  listen: number | null;
  dns: DnsMode;
}

/**
 * One service's settings, or null when its domains are unusable; every problem goes to `fail` /
 * `problems`. `get` returns a clean label value (undefined when absent or dirty); `dirty` names
 * keys already reported as LABEL_INVALID_STRING.
 */
export function serviceSettings(
  keys: SettingKeys,
  get: (k: string) => string | undefined,
  dirty: ReadonlySet<string>,
  opts: Pick<SpecOptions, 'reserved'>,
  appId: string,
  fail: Fail,
  problems: Problem[],
): { settings: ServiceSettings | null } {
  const domainRaw = get(keys.domain);
  let domains: string[] | null = null;
  if (domainRaw === undefined && !dirty.has(keys.domain)) {
    // Only per-port services get here: `berth.domain` being set is what makes the main one exist.
    fail(C.LABEL_DOMAIN_INVALID, keys.domain, undefined, 'required: a published port needs its domain');
  } else if (!dirty.has(keys.domain)) {
    const d = checkDomainList(domainRaw ?? '');
    if (d.ok) domains = d.value;
    else fail(C.LABEL_DOMAIN_INVALID, keys.domain, domainRaw, d.reason);
  }
  for (const d of domains ?? []) {
    const why = reservedReason(d, opts.reserved);
    if (why !== null) problems.push(problem(C.DOMAIN_RESERVED, appId, null, `${keys.domain}: ${why}`, { label: keys.domain, domain: d }));
  }

  let proxy: ProxyMode = 'http';
  const proxyRaw = get(keys.proxy);
  if (proxyRaw !== undefined) {
    const p = checkOneOf(proxyRaw, PROXY_MODES);
    if (p.ok) proxy = p.value;
    else fail(C.LABEL_PROXY_INVALID, keys.proxy, proxyRaw, p.reason);
  }

  let dns: DnsMode = 'direct';
  const dnsRaw = get(keys.dns);
  if (dnsRaw !== undefined) {
    const d = checkOneOf(dnsRaw, DNS_MODES);
    if (d.ok) dns = d.value;
    else fail(C.LABEL_DNS_INVALID, keys.dns, dnsRaw, d.reason);
  }

  let listen: number | null = null;
  const listenRaw = get(keys.listen);
  if (listenRaw !== undefined) {
    const l = checkPort(listenRaw);
    if (l.ok) listen = l.value;
    else fail(C.LABEL_LISTEN_INVALID, keys.listen, listenRaw, l.reason);
  } else if (proxy === 'tcp') {
    fail(C.LABEL_LISTEN_REQUIRED, keys.listen, undefined, `required with ${keys.proxy}=tcp`);
  }
  // `listen` only means something for tcp; an http service keeps the shared HTTP listener.
  if (proxy !== 'tcp') listen = null;
  return { settings: domains === null ? null : { domains, proxy, listen, dns } };
}
