import { Command } from 'commander';
import { loadConfig } from '../../config/load';
import { createLogger } from '../../log';
import { start } from '../../main';
import type { CliContext } from '../context';

/** `berth run`: the daemon. SIGTERM/SIGINT stop it gracefully (in-flight requests finish). */
export function runCommand(ctx: CliContext): Command {
  return new Command('run').description('run the daemon (API, IPAM, Marathon sync, Nginx, DNS)').action(async () => {
    const config = loadConfig(ctx.env);
    const logger = createLogger(config.logLevel);
    const abort = new AbortController();
    const running: { berth?: Awaited<ReturnType<typeof start>> } = {};
    const shutdown = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      abort.abort();
      // Hard limit: whatever hangs, the process is gone within 5 s (systemd/Marathon expect it).
      setTimeout(() => {
        logger.error('shutdown took longer than 5 s, exiting');
        process.exit(1);
      }, 5000).unref();
      void (running.berth?.stop() ?? Promise.resolve()).then(() => process.exit(0));
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
    running.berth = await start(config, { logger, signal: abort.signal });
    // A signal during start-up: stop what just started.
    if (abort.signal.aborted) await running.berth.stop();
  });
}
