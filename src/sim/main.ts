/**
 * Standalone simulator process, for child-process tests and manual poking:
 *   node --import tsx src/sim/main.ts [--port 0] [--flavour 1.10] [--keepalive-ms 10000] [--demo] [--seed N]
 * Prints one JSON line `{"url": …, "hostPort": …}` on stdout once listening; drive it via
 * `/_sim/...` over HTTP; stops on SIGINT/SIGTERM.
 */
import { startDemoMarathon } from './demo';
import { type Simulator, startSimulator } from './simulator';
import type { Flavour } from './model';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const flavour = (arg('flavour') ?? '1.10') as Flavour;
  if (flavour !== '1.4' && flavour !== '1.10') throw new Error(`--flavour must be 1.4 or 1.10, got ${flavour}`);
  const opts = { flavour, port: Number(arg('port') ?? 0), keepaliveMs: Number(arg('keepalive-ms') ?? 10_000) };
  let sim: Simulator;
  let close: () => Promise<void>;
  if (process.argv.includes('--demo')) {
    const demo = await startDemoMarathon(opts);
    sim = demo.sim;
    close = demo.close;
  } else {
    sim = await startSimulator(opts);
    close = sim.close;
  }
  const seedCount = Number(arg('seed') ?? 0);
  if (seedCount > 0) sim.control.seed({ apps: seedCount, tasksPerApp: 3 });
  process.stdout.write(`${JSON.stringify({ url: sim.url, hostPort: sim.hostPort, flavour })}\n`);
  const stop = (): void => {
    void close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((e: Error) => {
  process.stderr.write(`${e.message}\n`);
  process.exit(1);
});
