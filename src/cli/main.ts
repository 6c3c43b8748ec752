import { runCli } from './program';

// The process entry: argv → exit code. Long-running commands (run, demo) keep the loop alive.
void runCli(process.argv.slice(2), {
  out: (l) => process.stdout.write(l + '\n'),
  err: (l) => process.stderr.write(l + '\n'),
  env: process.env,
}).then((code) => {
  process.exitCode = code;
});
