/**
 * What `deploy/marathon/berth.json` gives berth, read from it so a benchmark's memory figures and the
 * deployment cannot drift: the memory grant and the NODE_OPTIONS (V8's old space sized for it).
 */
import fs from 'node:fs';
import path from 'node:path';

const DEPLOY = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../deploy/marathon/berth.json'), 'utf8')) as {
  mem: number;
  env: Record<string, string>;
};

/** deploy/marathon/berth.json: `"mem"` (MB). */
export const DEPLOY_GRANT_MB = DEPLOY.mem;
/** deploy/marathon/berth.json's NODE_OPTIONS, '' when unset. */
export const DEPLOY_NODE_OPTIONS = DEPLOY.env.NODE_OPTIONS ?? '';
