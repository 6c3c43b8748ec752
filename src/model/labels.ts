/**
 * The label vocabulary (contract, docs/labels.md): every label key berth reads, in one place.
 * The prefix is configurable (`BERTH_LABEL_PREFIX`); keys are always built through `labelNames`.
 */

export const DEFAULT_LABEL_PREFIX = 'berth.';

/** Suffixes after the prefix, e.g. `domain` → `berth.domain`. */
export const LABEL_SUFFIXES = [
  'domain',
  'port',
  'ip',
  'env',
  'proxy',
  'listen',
  'dns',
  'timeout.connect',
  'timeout.read',
  'body.max',
  'allow',
  'sticky',
  'tls',
  'tls.hsts',
  'path',
  'path.strip',
] as const;

export type LabelSuffix = (typeof LABEL_SUFFIXES)[number];

/** Full label keys for one prefix. */
export type LabelNames = Readonly<Record<LabelSuffix, string>>;

/** Build the label keys for `prefix` (default `berth.`). */
export function labelNames(prefix: string = DEFAULT_LABEL_PREFIX): LabelNames {
  const names = {} as Record<LabelSuffix, string>;
  for (const s of LABEL_SUFFIXES) names[s] = `${prefix}${s}`;
  return Object.freeze(names);
}

/** `berth.ip` values that ask `/v1/apps/prepare` to allocate: `auto` or `auto:<pool>`. */
export const IP_AUTO = 'auto';

/** The Docker parameter key Marathon passes through as `--ip` (docs/marathon.md "App and task JSON"). */
export const DOCKER_IP_PARAMETER = 'ip';

/** Settings a per-port label may carry: `berth.port.<port>.<setting>` (docs/labels.md "Several ports"). */
export const PORT_LABEL_SETTINGS = ['domain', 'proxy', 'listen', 'dns'] as const;

export type PortLabelSetting = (typeof PORT_LABEL_SETTINGS)[number];

/**
 * `<prefix>port.<port>.<setting>` split into its raw port part and setting; null for any other key
 * (including `<prefix>port` itself and unknown settings, which berth ignores like other unknown labels).
 * The port part is untrusted: the parser checks it with rules `checkPortRef`.
 */
export function splitPortLabel(key: string, prefix: string = DEFAULT_LABEL_PREFIX): { port: string; setting: PortLabelSetting } | null {
  const head = `${prefix}port.`;
  if (!key.startsWith(head)) return null;
  const rest = key.slice(head.length);
  const dot = rest.lastIndexOf('.');
  if (dot <= 0) return null;
  const setting = rest.slice(dot + 1);
  if (!(PORT_LABEL_SETTINGS as readonly string[]).includes(setting)) return null;
  return { port: rest.slice(0, dot), setting: setting as PortLabelSetting };
}
