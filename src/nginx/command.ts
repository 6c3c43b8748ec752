import { spawn } from 'node:child_process';

/** Outcome of one external command (`nginx -t`, `nginx -s reload`). */
export interface CommandResult {
  ok: boolean;
  /** True when no command is configured (empty string): nothing ran. */
  skipped: boolean;
  code: number | null;
  signal: string | null;
  timedOut: boolean;
  /** stdout and stderr interleaved, capped. */
  output: string;
  durationMs: number;
}

/**
 * What a test run should check: the staging tree and, when the operator named the main nginx.conf,
 * the candidate copy of it that includes staging instead of the live folder. Passed to the test
 * command as BERTH_NGINX_CANDIDATE_DIR and BERTH_NGINX_CANDIDATE_CONF.
 */
export interface TestTarget {
  dir: string;
  conf: string | null;
}

/** What the sync needs from Nginx. The real one runs commands; tests may fake it. */
export interface NginxControl {
  /** `target` is absent when the files under test are in the live folder (a test command that does not use the candidate). */
  test(target?: TestTarget): Promise<CommandResult>;
  reload(): Promise<CommandResult>;
}

const OUTPUT_CAP = 16 * 1024;
// After SIGTERM to the process group, how long before SIGKILL, and how long we wait at most
// for the pipes to close after that (a grandchild that escaped the group could hold them open).
const KILL_GRACE_MS = 1000;
const CLOSE_GRACE_MS = 1000;
// After the shell exited, how long its output may still arrive.
const PIPE_GRACE_MS = 200;

/**
 * Runs `sh -c cmd` in its own process group with a timeout; on timeout the whole group is
 * killed (TERM, then KILL), so a hung `nginx -s reload` never blocks later syncs.
 */
export function runCommand(cmd: string, timeoutMs: number, env?: Record<string, string>): Promise<CommandResult> {
  const started = Date.now();
  if (cmd.trim() === '') {
    return Promise.resolve({ ok: true, skipped: true, code: 0, signal: null, timedOut: false, output: '', durationMs: 0 });
  }
  return new Promise((resolve) => {
    let output = '';
    let timedOut = false;
    let settled = false;
    const child = spawn('/bin/sh', ['-c', cmd], { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: env ? { ...process.env, ...env } : process.env });
    const append = (chunk: Buffer) => {
      if (output.length < OUTPUT_CAP) output += chunk.toString('utf8').slice(0, OUTPUT_CAP - output.length);
    };
    child.stdout.on('data', append);
    child.stderr.on('data', append);
    const killGroup = (signal: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, signal);
      } catch {
        // the group is gone already
      }
    };
    const timers: NodeJS.Timeout[] = [];
    const finish = (code: number | null, signal: string | null, error?: Error) => {
      if (settled) return;
      settled = true;
      timers.forEach(clearTimeout);
      // Let go of pipes a leftover background process may still hold.
      child.stdout.destroy();
      child.stderr.destroy();
      if (error) append(Buffer.from(`\n${error.message}`));
      if (timedOut) append(Buffer.from(`\ncommand timed out after ${timeoutMs} ms and was killed`));
      resolve({ ok: !timedOut && !error && code === 0, skipped: false, code, signal, timedOut, output: output.trim(), durationMs: Date.now() - started });
    };
    timers.push(
      setTimeout(() => {
        timedOut = true;
        killGroup('SIGTERM');
        timers.push(setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS));
        timers.push(setTimeout(() => finish(null, 'SIGKILL'), KILL_GRACE_MS + CLOSE_GRACE_MS));
      }, timeoutMs),
    );
    child.on('error', (err) => finish(null, null, err));
    child.on('close', (code, signal) => finish(code, signal));
    // A command that leaves a background process holding our pipes (e.g. `nginx -s reload || nginx`
    // starting a daemon) has still finished when the shell exits: do not wait for the pipes.
    child.on('exit', (code, signal) => {
      timers.push(setTimeout(() => finish(code, signal), PIPE_GRACE_MS));
    });
  });
}

/** NginxControl over configured shell commands; calls are serialised (never two at once). */
export function commandControl(opts: { testCmd: string; reloadCmd: string; timeoutMs: number }): NginxControl {
  let queue: Promise<unknown> = Promise.resolve();
  const serial = (cmd: string, env?: Record<string, string>): Promise<CommandResult> => {
    const run = queue.then(() => runCommand(cmd, opts.timeoutMs, env));
    queue = run.catch(() => undefined);
    return run;
  };
  return { test: (target) => serial(opts.testCmd, target && candidateEnv(target)), reload: () => serial(opts.reloadCmd) };
}

/** The environment a test command gets for `target` (an unset conf is left out, not empty). */
export function candidateEnv(target: TestTarget): Record<string, string> {
  return target.conf ? { BERTH_NGINX_CANDIDATE_DIR: target.dir, BERTH_NGINX_CANDIDATE_CONF: target.conf } : { BERTH_NGINX_CANDIDATE_DIR: target.dir };
}

/**
 * Whether the test command checks the candidate (staging) rather than whatever the live nginx.conf
 * includes: a main conf is configured (a candidate exists to be tested), or the command names one
 * of the candidate variables, or there is no test at all.
 */
export const testsCandidate = (testCmd: string, mainConf: string | null | undefined): boolean =>
  testCmd.trim() === '' || Boolean(mainConf) || testCmd.includes('BERTH_NGINX_CANDIDATE_');
