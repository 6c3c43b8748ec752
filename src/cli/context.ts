/** What every CLI command gets: output streams and the exit code convention (0 ok, 1 failure, 2 usage). */
export interface CliContext {
  out: (line: string) => void;
  err: (line: string) => void;
  env: Record<string, string | undefined>;
}

/** Exit codes (contract). */
export const EXIT = { OK: 0, FAILURE: 1, USAGE: 2 } as const;

/** Thrown by commands to end with a message and an exit code. */
export class CliExit extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** Prints `value` as JSON (for `--json`) or through `human` for people. */
export function emit(ctx: CliContext, json: boolean, value: unknown, human: (v: never) => string[]): void {
  if (json) ctx.out(JSON.stringify(value, null, 2));
  else for (const line of human(value as never)) ctx.out(line);
}

/** Pads columns for a small table. */
export function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  '));
}
