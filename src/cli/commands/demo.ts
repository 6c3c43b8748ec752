import { Command, InvalidArgumentError } from 'commander';
import type { DemoFlags } from '../../demo/options';
import { DemoError, runDemo, type DemoHandle } from '../../demo/run';
import { CliExit, EXIT, type CliContext } from '../context';

const port = (v: string): number => {
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 65535) throw new InvalidArgumentError('must be a port number 1..65535');
  return Number(v);
};
const millis = (v: string): number => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('must be milliseconds (0 = off)');
  return Number(v);
};

/** What commander parses: the demo's own flags plus `--no-churn`, which means `churnMs: 0`. */
type Flags = DemoFlags & { churn: boolean };

/**
 * `berth demo`: berth on the embedded database with a simulated Marathon full of sample apps,
 * DNS, the API and (when installed) a real Nginx; prints a "try this" panel and runs until
 * SIGINT/SIGTERM, which stop everything it started.
 */
export function demoCommand(ctx: CliContext): Command {
  return new Command('demo')
    .description('berth with a simulated Marathon and sample apps: DNS, API and a real Nginx on loopback (Ctrl-C stops it all)')
    .option('--data-dir <dir>', 'embedded database, rendered files and the demo Nginx (default: BERTH_DATA_DIR or ./var)')
    .option('--http-addr <addr>', 'API address (default: BERTH_HTTP_ADDR or 127.0.0.1:8080)')
    .option('--dns-addr <addr>', 'DNS address, UDP and TCP (default: BERTH_DNS_ADDR or 127.0.0.1:5353)')
    .option('--nginx-port <port>', 'loopback port the demo Nginx serves HTTP on (default 8081)', port)
    .option('--tcp-port <port>', 'loopback port Nginx proxies the sample Redis on (default 16379)', port)
    .option('--https-port <port>', 'loopback port the demo Nginx serves HTTPS on, with a self-signed certificate (default 8443)', port)
    .option('--churn-ms <ms>', 'a deploy, scale or health flap every <ms> (default 4000; 0 = none)', millis)
    .option('--no-churn', 'no deploys, scales or health flaps')
    .option('--no-nginx', 'do not start Nginx even if installed (render files only)')
    .action(async (f: Flags) => {
      const abort = { signal: undefined as string | undefined };
      const onSignal = (sig: string) => (abort.signal = sig);
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      let demo: DemoHandle;
      try {
        demo = await runDemo({
          flags: {
            dataDir: f.dataDir,
            httpAddr: f.httpAddr,
            dnsAddr: f.dnsAddr,
            nginxPort: f.nginxPort,
            tcpPort: f.tcpPort,
            httpsPort: f.httpsPort,
            churnMs: f.churn ? f.churnMs : 0,
            nginx: f.nginx,
          },
          env: ctx.env,
          cwd: process.cwd(),
          progress: (l) => ctx.err(`berth demo: ${l}`),
        });
      } catch (e) {
        if (e instanceof DemoError) throw new CliExit(EXIT.FAILURE, e.message);
        throw e;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      // A signal during start-up: stop what just started, and say so.
      if (abort.signal) {
        await demo.stop();
        ctx.err(`berth demo: stopped (${abort.signal} during start-up)`);
        return;
      }
      for (const line of demo.panel) ctx.out(line);
      const signal = await new Promise<string>((resolve) => {
        process.once('SIGINT', () => resolve('SIGINT'));
        process.once('SIGTERM', () => resolve('SIGTERM'));
      });
      ctx.err(`berth demo: ${signal}, stopping everything`);
      // Whatever hangs, the process ends within 10 s, and the demo Nginx does not outlive it.
      const hard = setTimeout(() => {
        ctx.err('berth demo: stopping took longer than 10 s, exiting');
        const pid = demo.nginx?.pid();
        if (pid) process.kill(pid, 'SIGKILL');
        process.exit(EXIT.FAILURE);
      }, 10_000);
      hard.unref();
      await demo.stop();
      clearTimeout(hard);
      ctx.err('berth demo: stopped; nothing left running');
      // Everything is closed; should a stray handle keep the loop alive, still end (unref: no wait otherwise).
      setTimeout(() => process.exit(process.exitCode ?? EXIT.OK), 2000).unref();
    });
}
