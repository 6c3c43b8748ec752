/**
 * A real Nginx for a whole berth in either Nginx mode, with the `BERTH_NGINX_*` settings that wire
 * berth to it as an operator would: staged (the test command checks the candidate conf), reloads
 * confirmed through the admin server, Nginx's error log quoted on failure.
 */
import path from 'node:path';
import type { DynamicMode } from '../../src/nginx/template-context';
import { startNginx } from './nginx-harness';
import { waitFor } from './helpers';
import { startLuaNginx } from './lua-harness';

export interface ModeNginx {
  httpPort: number;
  /** `BERTH_NGINX_*` settings for `loadConfig`. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startModeNginx(mode: DynamicMode): Promise<ModeNginx> {
  const n = mode === 'lua' ? await startLuaNginx({ berthHttpConf: true, workers: 1 }) : await startNginx();
  const testCmd = 'candidateTestCmd' in n ? n.candidateTestCmd : n.testCmd;
  const admin = 'adminListen' in n ? n.adminListen : `127.0.0.1:${n.adminPort}`;
  return {
    httpPort: n.httpPort,
    stop: () => n.stop(),
    env: {
      BERTH_NGINX_DIR: n.dir,
      BERTH_NGINX_MAIN_CONF: n.conf,
      BERTH_NGINX_TEST_CMD: testCmd,
      BERTH_NGINX_RELOAD_CMD: n.reloadCmd,
      BERTH_NGINX_ADMIN_LISTEN: admin,
      // Generous: the confirmation waits for old workers on a machine shared with other suites.
      BERTH_NGINX_CONFIRM_TIMEOUT_MS: '15000',
      BERTH_NGINX_ERROR_LOG: path.join(n.prefix, 'error.log'),
      BERTH_NGINX_HTTP_LISTEN: `127.0.0.1:${n.httpPort}`,
      BERTH_NGINX_DYNAMIC: mode,
    },
  };
}

/**
 * Waits for berth's first sync run to be applied and confirmed. New workers answer before the old
 * generation has stopped accepting; the run is reported applied only once berth has confirmed the
 * new generation alone answers. Until then a request can still reach an old worker without the files.
 */
export async function firstRunConfirmed(berthUrl: string): Promise<void> {
  await waitFor(
    async () => {
      const st = (await (await fetch(`${berthUrl}/v1/sync/status`)).json()) as { lastRun: { status: string } | null; appliedPosition: number | null };
      return st.lastRun?.status === 'applied' && st.appliedPosition !== null;
    },
    'the first sync run to be applied and confirmed',
    30_000,
  );
}
