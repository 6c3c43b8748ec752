import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/load';
import { silentLogger } from '../../src/log';
import { start, type Berth } from '../../src/main';

export const TOKEN = 'api-test-token-0123456789';

/** A whole berth (embedded database, every route, every metric) in a temp dir, with one API token. */
export async function startBerth(): Promise<{ berth: Berth; stop: () => Promise<void> }> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-api-'));
  const config = loadConfig({
    BERTH_DATA_DIR: tmp,
    BERTH_HTTP_ADDR: '127.0.0.1:0',
    BERTH_DNS_ADDR: '127.0.0.1:0',
    BERTH_API_TOKENS: TOKEN,
    BERTH_NGINX_DIR: path.join(tmp, 'nginx'),
    BERTH_NGINX_TEST_CMD: '',
    BERTH_NGINX_RELOAD_CMD: '',
    BERTH_LOG_LEVEL: 'silent',
  });
  const berth = await start(config, { logger: silentLogger });
  return {
    berth,
    stop: async () => {
      await berth.stop();
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}
