/**
 * Per-port labels (docs/labels.md "Several ports"): `berth.port.<port>.domain|proxy|listen|dns`
 * publish one declared port as a service of its own. `<port>` is the port's name or its 0-based
 * index in the declared ports. Each port becomes a ServiceSpec with `port` set to that reference.
 */
import type { App } from '../marathon/types';
import { checkPortRef, display, isClean, MAX_PUBLISHED_PORTS } from '../rules';
import { splitPortLabel, type LabelNames, type PortLabelSetting } from './labels';
import { portAt, type ChosenPort, type Fail } from './port-choice';
import type { DeclaredPort, NetworkMode } from './ports';
import { PROBLEM_CODES as C, problem } from './problems';
import { serviceSettings, type ServiceSettings } from './service-settings';
import type { SpecOptions } from './spec';
import type { Problem } from './types';

/** The per-port labels of one app, grouped by the port part of the key, in key order. */
export interface PortLabelGroup {
  /** The port part exactly as written in the keys (untrusted). */
  raw: string;
  keys: Partial<Record<PortLabelSetting, string>>;
}

/** Every `<prefix>port.<port>.<setting>` key, grouped by `<port>`. */
export function perPortLabels(labels: App['labels'] | Record<string, unknown>, prefix: string): PortLabelGroup[] {
  const groups = new Map<string, PortLabelGroup>();
  for (const key of Object.keys(labels ?? {})) {
    const s = splitPortLabel(key, prefix);
    if (!s) continue;
    let g = groups.get(s.port);
    if (!g) groups.set(s.port, (g = { raw: s.port, keys: {} }));
    g.keys[s.setting] = key;
  }
  return [...groups.values()];
}

/** One per-port service being parsed; `settings` null when its domains are unusable. */
export interface PublishedPort {
  /** Canonical port reference (`port` of the service). */
  ref: string;
  port: ChosenPort;
  settings: ServiceSettings | null;
  /** The label that named the port (for problems). */
  label: string;
}

/** The ports per-port labels publish; every problem found goes to `fail` / `problems`. */
export function publishedPorts(
  groups: readonly PortLabelGroup[],
  declared: readonly DeclaredPort[],
  network: NetworkMode,
  get: (k: string) => string | undefined,
  dirty: ReadonlySet<string>,
  opts: Pick<SpecOptions, 'reserved'>,
  appId: string,
  fail: Fail,
  problems: Problem[],
): PublishedPort[] {
  if (groups.length > MAX_PUBLISHED_PORTS) {
    const sample = groups.slice(0, 3).map((g) => display(g.raw, 40));
    fail(
      C.PORT_LABELS_TOO_MANY,
      display(anyKey(groups[MAX_PUBLISHED_PORTS]), 120),
      undefined,
      `per-port labels name ${groups.length} ports (${sample.join(', ')}, …); at most ${MAX_PUBLISHED_PORTS} may be published per app`,
    );
    return [];
  }
  const out: PublishedPort[] = [];
  for (const g of groups) {
    // A refused key (NUL, too long…) was reported as LABEL_INVALID_STRING; nothing more to say.
    if (!Object.values(g.keys).every((k) => isClean(k, 'labelKey'))) continue;
    const label = anyKey(g);
    const ref = checkPortRef(g.raw);
    if (!ref.ok) {
      fail(C.LABEL_PORT_INVALID, label, undefined, `"${display(g.raw, 80)}": ${ref.reason}`);
      continue;
    }
    const r = ref.value;
    const index = r.kind === 'index' ? (r.index < declared.length ? r.index : -1) : declared.findIndex((p) => p.name === r.name);
    if (index < 0) {
      const what = r.kind === 'index' ? `no port with index ${r.index} (the app declares ${declared.length})` : `no port named "${r.name}"`;
      fail(C.PORT_NOT_FOUND, label, undefined, what);
      continue;
    }
    const chosen = portAt(declared, index, network, () => 'give the mapping a container port');
    if ('error' in chosen) {
      fail(C.PORT_NOT_FOUND, label, undefined, chosen.error);
      continue;
    }
    const keys = settingKeys(g);
    const { settings } = serviceSettings(keys, get, dirty, opts, appId, fail, problems);
    out.push({ ref: r.text, port: chosen, settings, label });
  }
  return out;
}

/**
 * Each declared port is published once: by the single-port labels (`berth.domain` + `berth.port`)
 * or by one group of per-port labels, never both, and never by two groups (a name and an index
 * naming the same port). Either would give one port two sets of domains and settings.
 */
export function checkOnePublisherPerPort(mainIndex: number | null, ports: readonly PublishedPort[], names: LabelNames, fail: Fail): void {
  const by = new Map<number, string>();
  if (mainIndex !== null) by.set(mainIndex, names.domain);
  for (const p of ports) {
    if (p.port.index === null) continue;
    const first = by.get(p.port.index);
    if (first !== undefined) {
      fail(C.PORT_PUBLISHED_TWICE, p.label, undefined, `port ${p.port.index} is already published by ${first}; publish each port with one set of labels`);
    } else by.set(p.port.index, p.label);
  }
}

/** Within one app, a domain (and a tcp listen port) belongs to one of its services. */
export function checkClaimsWithinApp(
  main: ServiceSettings | null,
  ports: readonly PublishedPort[],
  mainLabel: string,
  appId: string,
  problems: Problem[],
): void {
  const all: Array<{ s: ServiceSettings; label: string }> = [];
  if (main) all.push({ s: main, label: mainLabel });
  for (const p of ports) if (p.settings) all.push({ s: p.settings, label: p.label });
  const domains = new Map<string, string>();
  const listens = new Map<number, string>();
  const dupes: Array<{ claim: string; labels: [string, string] }> = [];
  for (const { s, label } of all) {
    for (const d of s.domains) {
      const first = domains.get(d);
      if (first !== undefined) dupes.push({ claim: d, labels: [first, label] });
      else domains.set(d, label);
    }
    if (s.proxy === 'tcp' && s.listen !== null) {
      const first = listens.get(s.listen);
      if (first !== undefined) dupes.push({ claim: `tcp listen ${s.listen}`, labels: [first, label] });
      else listens.set(s.listen, label);
    }
  }
  if (dupes.length === 0) return;
  const d = dupes[0];
  problems.push(
    problem(C.PORT_CLAIM_DUPLICATE, appId, null, `${d.claim} is claimed by both ${d.labels[0]} and ${d.labels[1]}; each port needs its own`, {
      duplicates: dupes.slice(0, 10),
    }),
  );
}

function anyKey(g: PortLabelGroup): string {
  return g.keys.domain ?? g.keys.proxy ?? g.keys.listen ?? g.keys.dns ?? '';
}

function settingKeys(g: PortLabelGroup): { domain: string; proxy: string; listen: string; dns: string } {
  // Keys not given are built from one that is, so "required" problems name the missing label.
  const any = anyKey(g);
  const base = any.slice(0, any.lastIndexOf('.') + 1);
  return {
    domain: g.keys.domain ?? `${base}domain`,
    proxy: g.keys.proxy ?? `${base}proxy`,
    listen: g.keys.listen ?? `${base}listen`,
    dns: g.keys.dns ?? `${base}dns`,
  };
}
