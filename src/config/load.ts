import fs from 'node:fs';
import { Invalid } from './parsers';
import { KEYS, toConfig, type Config, type KeyName } from './schema';

/** Configuration that failed validation; `problems` names every bad key and why. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/**
 * Reads the environment and, if `BERTH_CONFIG` names one, a JSON file with the same keys
 * (variables win). Validates everything once and returns a deep-frozen Config, or throws a
 * ConfigError naming every bad key.
 */
export function loadConfig(env: Env = process.env, readFile: (path: string) => string = (f) => fs.readFileSync(f, 'utf8')): Config {
  const problems: string[] = [];
  let file: Record<string, unknown> = {};
  const configPath = env.BERTH_CONFIG?.trim();
  if (configPath) {
    try {
      const parsed: unknown = JSON.parse(readFile(configPath));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('must hold a JSON object');
      file = parsed as Record<string, unknown>;
      for (const k of Object.keys(file)) {
        if (!(k in KEYS)) problems.push(`BERTH_CONFIG (${configPath}): unknown key ${JSON.stringify(k)}`);
      }
    } catch (e) {
      problems.push(`BERTH_CONFIG: cannot read ${configPath}: ${(e as Error).message}`);
    }
  }
  const values: Record<string, unknown> = {};
  for (const name of Object.keys(KEYS) as KeyName[]) {
    const spec = KEYS[name];
    const fromEnv = env[name];
    const raw = fromEnv !== undefined ? fromEnv : file[name];
    // An empty variable means "use the default", except where empty is itself meaningful.
    const emptyMeansEmpty = name === 'BERTH_NGINX_TEST_CMD' || name === 'BERTH_NGINX_RELOAD_CMD' || name === 'BERTH_NGINX_ADMIN_LISTEN';
    if (raw === undefined || raw === null || (raw === '' && !emptyMeansEmpty)) {
      values[name] = spec.default;
      continue;
    }
    try {
      values[name] = spec.parse(raw as never);
    } catch (e) {
      if (!(e instanceof Invalid)) throw e;
      problems.push(`${name}: ${e.message}`);
    }
  }
  const user = values.BERTH_MARATHON_USERNAME;
  const pass = values.BERTH_MARATHON_PASSWORD;
  if ((user === undefined) !== (pass === undefined)) problems.push('BERTH_MARATHON_USERNAME/BERTH_MARATHON_PASSWORD: set both or neither');
  if (user !== undefined && values.BERTH_MARATHON_TOKEN !== undefined) problems.push('BERTH_MARATHON_TOKEN: cannot be combined with BERTH_MARATHON_USERNAME');
  // lua mode pushes every HTTP endpoint through the admin server: without one nothing would serve.
  if (values.BERTH_NGINX_DYNAMIC === 'lua' && values.BERTH_NGINX_ADMIN_LISTEN === '')
    problems.push('BERTH_NGINX_ADMIN_LISTEN: BERTH_NGINX_DYNAMIC=lua needs the admin server (it receives the endpoints); it cannot be empty');
  // A forbidden name without the label prefix would forbid nothing: a typo must not look like a policy.
  const prefix = values.BERTH_LABEL_PREFIX;
  for (const name of (values.BERTH_LABELS_DENY as string[] | undefined) ?? []) {
    if (typeof prefix === 'string' && !name.startsWith(prefix))
      problems.push(`BERTH_LABELS_DENY: ${JSON.stringify(name)} does not start with the label prefix ${JSON.stringify(prefix)}`);
  }
  if (problems.length) throw new ConfigError(problems);
  return deepFreeze(toConfig(values as Parameters<typeof toConfig>[0]));
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
