import pino, { type Logger } from 'pino';

export type { Logger };

/** JSON lines on stdout (docs/architecture.md "Logs"). `silent` for tests. */
export function createLogger(level: string, name = 'berth'): Logger {
  return pino({ name, level, base: { name } });
}

/** A logger that drops everything; for tests and library callers that pass none. */
export const silentLogger: Logger = pino({ level: 'silent' });
