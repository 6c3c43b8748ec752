/**
 * External tools some suites need (dig, kdig, nginx, curl, openssl, chromium …). A suite that
 * needs one wraps itself in `describeWithTools`: with every tool on PATH it runs as usual; without
 * one it is skipped and the missing tool is recorded for the notice printed at the end of the run
 * (test/support/global-teardown.ts); with `CI` set a missing tool is a failing test naming
 * it, so CI never skips silently. `itWithTools` does the same for one test, `toolsFor` for a part
 * of a test that runs less (instead of nothing) without the tool.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The command that installs every tool the tests use (scripts/setup.sh). */
export const INSTALL_COMMAND = 'npm run setup';

/** Environment variable naming this run's file of skipped suites (set by test/support/global-setup.ts). */
export const MISSING_TOOLS_ENV = 'BERTH_MISSING_TOOLS_FILE';

/**
 * Where skipped suites note what they missed: one file per run in the temp folder, named by the
 * global setup (the workers inherit it), printed and removed by the global teardown.
 */
export function missingToolsFile(runId: string): string {
  return path.join(os.tmpdir(), `berth-missing-tools-${runId}.jsonl`);
}

const found = new Map<string, boolean>();

/** Nginx's dynamic modules on Debian/Ubuntu. */
export const NGINX_MODULES = '/usr/lib/nginx/modules';

/** Tools that are not programs on PATH: how to tell each is installed. */
const NOT_ON_PATH: Record<string, () => boolean> = {
  // The HTTP Lua module (libnginx-mod-http-lua) and the NDK module it needs, for BERTH_NGINX_DYNAMIC=lua.
  'nginx-lua': () => haveTool('nginx') && ['ndk_http_module.so', 'ngx_http_lua_module.so'].every((m) => fs.existsSync(path.join(NGINX_MODULES, m))),
};

/** True when `name` is an executable file on PATH (or an absolute path to one), or a module named in NOT_ON_PATH that is installed. */
export function haveTool(name: string): boolean {
  const cached = found.get(name);
  if (cached !== undefined) return cached;
  const special = NOT_ON_PATH[name];
  if (special) {
    const ok = special();
    found.set(name, ok);
    return ok;
  }
  const dirs = name.includes('/') ? [''] : (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  const ok = dirs.some((d) => {
    try {
      const file = d ? path.join(d, name) : name;
      fs.accessSync(file, fs.constants.X_OK);
      return fs.statSync(file).isFile();
    } catch {
      return false;
    }
  });
  found.set(name, ok);
  return ok;
}

/** The tools of `names` that are not installed. */
export function missingTools(names: readonly string[]): string[] {
  return names.filter((n) => !haveTool(n));
}

function ciError(missing: readonly string[], what: string): Error {
  const e = new Error(`missing tool(s) in CI: ${missing.join(', ')} (needed by ${what}; install them: ${INSTALL_COMMAND})`);
  e.stack = e.message; // the message says it all; a stack into this file would only add noise
  return e;
}

/** Notes a skipped suite, test or part for the end-of-run notice (a run without the global setup has none). */
function record(suite: string, missing: readonly string[]): void {
  const file = process.env[MISSING_TOOLS_ENV];
  if (!file) return;
  const testPath = expect.getState().testPath ?? '';
  const test = testPath ? path.relative(path.resolve(__dirname, '../..'), testPath) : '';
  fs.appendFileSync(file, `${JSON.stringify({ suite, missing, file: test })}\n`);
}

/**
 * `describe(name, fn)` when every tool is installed; otherwise skipped with a recorded notice, or
 * (with `CI` set) one failing test that names the missing tools.
 */
export function describeWithTools(tools: readonly string[], name: string, fn: () => void): void {
  const missing = missingTools(tools);
  if (!missing.length) {
    describe(name, fn);
    return;
  }
  if (process.env.CI) {
    describe(name, () => {
      it(`needs ${missing.join(', ')}`, () => {
        throw ciError(missing, name);
      });
    });
    return;
  }
  record(name, missing);
  describe.skip(`${name} (skipped: ${missing.join(', ')} not installed)`, fn);
}

/** `it` for one test that needs tools, with the same rule as `describeWithTools`. */
export function itWithTools(tools: readonly string[], name: string, fn: jest.ProvidesCallback, timeout?: number): void {
  const missing = missingTools(tools);
  if (!missing.length) {
    it(name, fn, timeout);
    return;
  }
  if (process.env.CI) {
    it(name, () => {
      throw ciError(missing, name);
    });
    return;
  }
  record(name, missing);
  it.skip(`${name} (skipped: ${missing.join(', ')} not installed)`, fn);
}

/**
 * For a test that checks less (rather than nothing) without a tool: true when every tool is
 * installed; otherwise records `part` as not run and returns false, or with `CI` set throws naming
 * the tools. Call it inside a test or hook, so that the throw is that test's failure.
 */
export function toolsFor(tools: readonly string[], part: string): boolean {
  const missing = missingTools(tools);
  if (!missing.length) return true;
  if (process.env.CI) throw ciError(missing, part);
  record(part, missing);
  return false;
}
