/**
 * Runs berth (`berth run` from source) in its own child process, so that its RSS and CPU are its
 * own and not the benchmark driver's or the simulator's. Resolves once the API listens.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = path.resolve(__dirname, '../..');

export interface BerthProcess {
  child: ChildProcess;
  pid: number;
  url: string;
  /** Everything berth logged so far (pino JSON lines). */
  output(): string;
  /** SIGTERM, then SIGKILL after 10 s; resolves on exit. */
  stop(): Promise<void>;
}

/**
 * `BERTH_BENCH_BUILD=dist`: run the compiled build (`npm run build`; what `bin/berth.js` and the
 * deployment run) instead of the sources through tsx. tsx transpiles with names kept, wrapping every
 * inner function it creates on each call, which makes the per-app label parse several times slower,
 * and its loader thread adds to the resident memory; the compiled build measures what ships.
 */
function compiledEntry(): string | null {
  if (process.env.BERTH_BENCH_BUILD !== 'dist') return null;
  const entry = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
  if (!fs.existsSync(entry)) throw new Error(`BERTH_BENCH_BUILD=dist: ${entry} is missing; run \`npm run build\` first`);
  return entry;
}

/** Starts berth with exactly these BERTH_* variables (plus PATH/HOME). */
export async function startBerthProcess(env: Record<string, string>, timeoutMs = 120_000, onSpawn?: (pid: number) => void): Promise<BerthProcess> {
  const argv = compiledEntry()
    ? [compiledEntry()!, 'run']
    : ['--import', pathToFileURL(require.resolve('tsx')).href, path.join(ROOT, 'src/cli/main.ts'), 'run'];
  const child = spawn(process.execPath, argv, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid) onSpawn?.(child.pid);
  let out = '';
  // Keep only the tail: a long run logs a lot and we only need recent lines and the start-up line.
  const append = (d: Buffer) => {
    out += d.toString();
    if (out.length > 4_000_000) out = out.slice(-2_000_000);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Not left running: nobody could stop it, and it would keep writing into the caller's folders.
      child.kill('SIGKILL');
      reject(new Error(`berth did not start within ${timeoutMs} ms:\n${out.slice(-3000)}`));
    }, timeoutMs);
    const check = () => {
      const m = /"url":"(http:[^"]+)","msg":"API listening"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout!.on('data', check);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`berth exited with ${code} before listening:\n${out.slice(-3000)}`));
    });
  });
  return {
    child,
    pid: child.pid!,
    url,
    output: () => out,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}
