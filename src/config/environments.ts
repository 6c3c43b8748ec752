import type { EnvironmentConfig } from '../model/types';
import { ENV_NAME } from '../rules';
import { Invalid, cidr, ipAddress } from './parsers';

/** Parses `BERTH_ENVIRONMENTS`: `{"<env>": {"clients": ["cidr"…], "proxyAddresses": ["ip"…]}}`. */
export function parseEnvironments(raw: unknown): Record<string, EnvironmentConfig> {
  let value: unknown = raw;
  if (typeof raw === 'string') {
    if (raw.trim() === '') return {};
    try {
      value = JSON.parse(raw);
    } catch (e) {
      throw new Invalid(`must be JSON like {"env": {"clients": ["10.1.0.0/16"], "proxyAddresses": ["10.0.0.5"]}}: ${(e as Error).message}`);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Invalid('must be a JSON object keyed by environment name');
  const out: Record<string, EnvironmentConfig> = {};
  const problems: string[] = [];
  for (const [name, spec] of Object.entries(value as Record<string, unknown>)) {
    if (!ENV_NAME.test(name)) problems.push(`environment name ${JSON.stringify(name)} must match ${ENV_NAME.source}`);
    if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
      problems.push(`${name}: must be an object with "clients" and "proxyAddresses"`);
      continue;
    }
    const s = spec as Record<string, unknown>;
    for (const key of Object.keys(s)) {
      if (key !== 'clients' && key !== 'proxyAddresses') problems.push(`${name}: unknown key ${JSON.stringify(key)}`);
    }
    const clients = arrayOf(s.clients, cidr, `${name}.clients`, problems);
    const proxyAddresses = arrayOf(s.proxyAddresses, ipAddress, `${name}.proxyAddresses`, problems);
    out[name] = Object.freeze({ clients, proxyAddresses }) as EnvironmentConfig;
  }
  if (problems.length) throw new Invalid(problems.join('; '));
  return out;
}

function arrayOf<T>(v: unknown, parse: (x: unknown) => T, where: string, problems: string[]): T[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    problems.push(`${where} must be an array`);
    return [];
  }
  const out: T[] = [];
  for (const item of v) {
    try {
      out.push(parse(item));
    } catch (e) {
      problems.push(`${where}: ${(e as Error).message}`);
    }
  }
  return out;
}
