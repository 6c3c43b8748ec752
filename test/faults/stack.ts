/**
 * A whole berth (`start()` from src/main.ts, as `berth run` builds it) in this process, against a
 * Marathon simulator, with DNS on a loopback port and Nginx files in a temp folder: what the fault
 * tests look at is what a user would (API, DNS answers, files on disk).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/load';
import { silentLogger, type Logger } from '../../src/log';
import { start, type Berth } from '../../src/main';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/sim';
import { DnsProbe } from '../../bench/lib/dns-probe';

export const ZONE = 'berth.test';

export interface Stack {
  sim: Simulator;
  berth: Berth;
  dir: string;
  nginxDir: string;
  dns: DnsProbe;
  /** SRV answer count for an app's domain (0 for NXDOMAIN/NODATA, null on no answer). */
  srv(domain: string): Promise<number | null>;
  api<T = unknown>(method: string, p: string, body?: unknown): Promise<{ status: number; body: T }>;
  /** Rendered files under <dir>/default/http. */
  files(): string[];
  stop(): Promise<void>;
}

export interface StackOptions {
  sim?: SimulatorOptions;
  env?: Record<string, string>;
  /** Marathon URLs given to berth (default: the simulator's). */
  urls?: (sim: Simulator) => Promise<string[]> | string[];
  /** berth's logger (default: silent). */
  logger?: Logger;
}

/** A Marathon app berth publishes as `<name>.berth.test`, one port named http. */
export function webApp(name: string, instances = 2, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: `/faults/${name}`,
    instances,
    container: { type: 'DOCKER', docker: { image: 'example/web:1' }, portMappings: [{ containerPort: 80, hostPort: 0, name: 'http' }] },
    networks: [{ mode: 'container/bridge' }],
    labels: { 'berth.domain': `${name}.${ZONE}` },
    ...extra,
  };
}

export async function startStack(o: StackOptions = {}): Promise<Stack> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-faults-'));
  const sim = await startSimulator({ flavour: '1.10', keepaliveMs: 500, ...o.sim });
  const nginxDir = o.env?.BERTH_NGINX_DIR ?? path.join(dir, 'nginx');
  const urls = o.urls ? await o.urls(sim) : [sim.url];
  const config = loadConfig({
    BERTH_MARATHON_URLS: urls.join(','),
    BERTH_DATA_DIR: 'memory://',
    BERTH_HTTP_ADDR: '127.0.0.1:0',
    BERTH_DNS_ADDR: '127.0.0.1:0',
    BERTH_DNS_ZONES: ZONE,
    BERTH_NGINX_DIR: nginxDir,
    BERTH_NGINX_TEST_CMD: '',
    BERTH_NGINX_RELOAD_CMD: '',
    // No real Nginx here (a test may set a stand-in reload command): no generation to read back.
    BERTH_NGINX_ADMIN_LISTEN: '',
    BERTH_NGINX_HTTP_LISTEN: '127.0.0.1:18081',
    BERTH_SYNC_INTERVAL_MS: '200',
    BERTH_LOG_LEVEL: 'silent',
    ...o.env,
  });
  const berth = await start(config, { logger: o.logger ?? silentLogger });
  const dns = new DnsProbe('127.0.0.1', berth.dnsAddress.port);
  const api = async <T>(method: string, p: string, body?: unknown) => {
    const r = await fetch(`${berth.url}${p}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: r.status, body: parsed as T };
  };
  return {
    sim,
    berth,
    dir,
    nginxDir,
    dns,
    api,
    srv: async (domain) => {
      const a = await dns.query(`_http._tcp.${domain}`, 33, 1000);
      return a === null ? null : a.rcode === 3 ? 0 : a.answers;
    },
    files: () => {
      const d = path.join(nginxDir, 'default', 'http');
      return fs.existsSync(d)
        ? fs
            .readdirSync(d)
            .filter((f) => f.endsWith('.conf'))
            .sort()
        : [];
    },
    stop: async () => {
      dns.close();
      await berth.stop();
      await sim.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `probe` every `everyMs` for as long as `while` runs, collecting every value seen. */
export function watch<T>(probe: () => Promise<T>, everyMs = 50): { stop: () => Promise<T[]> } {
  const seen: T[] = [];
  let on = true;
  const loop = (async () => {
    while (on) {
      seen.push(await probe());
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    stop: async () => {
      on = false;
      await loop;
      return seen;
    },
  };
}
