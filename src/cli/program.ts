import fs from 'node:fs';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/load';
import { checkCommand } from './commands/check';
import { demoCommand } from './commands/demo';
import { ipCommand } from './commands/ip';
import { poolsCommand } from './commands/pools';
import { renderCommand } from './commands/render';
import { migrateCommand } from './commands/migrate';
import { runCommand } from './commands/run';
import { CliExit, EXIT, type CliContext } from './context';

/** Builds the `berth` program. Commands are added here and nowhere else. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('berth')
    .description('Marathon service discovery: fixed container IPs, Nginx upstreams and authoritative DNS from one set of labels')
    .version(version(), '-V, --version')
    .showHelpAfterError()
    .configureOutput({ writeOut: (s) => ctx.out(s.replace(/\n$/, '')), writeErr: (s) => ctx.err(s.replace(/\n$/, '')) });
  for (const c of [runCommand(ctx), demoCommand(ctx), migrateCommand(ctx), checkCommand(ctx), poolsCommand(ctx), ipCommand(ctx), renderCommand(ctx)])
    program.addCommand(c);
  // Usage errors (unknown command/option, missing argument) exit 2, everywhere.
  const exitOverride = (cmd: Command) => {
    cmd.exitOverride();
    cmd.commands.forEach(exitOverride);
  };
  exitOverride(program);
  return program;
}

/** The package version, from src/ (tsx, tests) or from dist/src/ (the npm bin). */
function version(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    const file = path.join(__dirname, rel);
    if (fs.existsSync(file)) return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
  }
  return 'unknown';
}

/** Runs argv and returns the exit code (0 ok, 1 failure, 2 usage). Never throws. */
export async function runCli(argv: string[], ctx: CliContext): Promise<number> {
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version "fail" with exit code 0.
      return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    if (e instanceof ConfigError) {
      ctx.err(`berth: ${e.message}`);
      return EXIT.USAGE;
    }
    if (e instanceof CliExit) {
      ctx.err(`berth: ${e.message}`);
      return e.exitCode;
    }
    ctx.err(`berth: ${(e as Error).message ?? String(e)}`);
    return EXIT.FAILURE;
  }
}
