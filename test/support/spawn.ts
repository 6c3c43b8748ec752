import { pathToFileURL } from 'node:url';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');

/** argv for running the berth CLI from source in a child process (any cwd). */
export function berthArgv(...args: string[]): string[] {
  return ['--import', pathToFileURL(require.resolve('tsx')).href, path.join(ROOT, 'src/cli/main.ts'), ...args];
}
