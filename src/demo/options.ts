/**
 * Demo settings → the environment `loadConfig` validates, so the demo runs on exactly the
 * configuration rules of `berth run`. Flags win over BERTH_* variables, which win over demo defaults;
 * the few settings the sample platform depends on (Marathon URL, default environment, environments,
 * label prefix, embedded database) are the demo's own.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DEMO_POOL } from './seed';

type Env = Record<string, string | undefined>;

/** What `berth demo` accepts on the command line (all optional). */
export interface DemoFlags {
  dataDir?: string;
  httpAddr?: string;
  dnsAddr?: string;
  nginxPort?: number;
  tcpPort?: number;
  /** Loopback port the demo Nginx serves HTTPS on (the TLS app). */
  httpsPort?: number;
  /** Milliseconds between churn steps; 0 turns churn off. */
  churnMs?: number;
  /** false: never start Nginx (render only). */
  nginx?: boolean;
}

export interface DemoSettings {
  dataDir: string;
  nginxHost: string;
  nginxPort: number;
  tcpPort: number;
  httpsPort: number;
  churnMs: number;
  useNginx: boolean;
  templates: string;
  exampleConf: string;
  /** Where berth renders Nginx files (absolute). */
  nginxDir: string;
  /** The demo Nginx's prefix (absolute). */
  nginxPrefix: string;
  /** The demo's certificate folder (absolute; BERTH_TLS_DIR when it serves HTTPS). */
  tlsDir: string;
  logFile: string;
}

/** Client subnets of the two environments: 127.0.0.2 is func-a (`dig -b 127.0.0.2`), everyone else integration. */
export const DEMO_ENVIRONMENTS = {
  integration: { clients: ['127.0.0.1/32'], proxyAddresses: ['127.0.0.1'] },
  'func-a': { clients: ['127.0.0.2/32'], proxyAddresses: ['127.0.0.1'] },
};

/** The package root: `src/demo` from source, `dist/src/demo` when built. */
export function packageRoot(): string {
  for (const rel of ['../..', '../../..']) {
    const dir = path.resolve(__dirname, rel);
    if (fs.existsSync(path.join(dir, 'nginx-templates', 'nginx.conf.example'))) return dir;
  }
  return path.resolve(__dirname, '../..');
}

/** Resolves flags and environment into the demo's own settings (absolute paths from `cwd`). */
export function demoSettings(flags: DemoFlags, env: Env, cwd: string): DemoSettings {
  const dataDir = path.resolve(cwd, flags.dataDir ?? (env.BERTH_DATA_DIR?.trim() || './var'));
  const root = packageRoot();
  return {
    dataDir,
    nginxHost: '127.0.0.1',
    nginxPort: flags.nginxPort ?? 8081,
    tcpPort: flags.tcpPort ?? 16379,
    httpsPort: flags.httpsPort ?? 8443,
    churnMs: flags.churnMs ?? 4000,
    useNginx: flags.nginx !== false,
    templates: env.BERTH_NGINX_TEMPLATES?.trim() ? path.resolve(cwd, env.BERTH_NGINX_TEMPLATES) : path.join(root, 'nginx-templates'),
    exampleConf: path.join(root, 'nginx-templates', 'nginx.conf.example'),
    nginxDir: path.join(dataDir, 'nginx'),
    nginxPrefix: path.join(dataDir, 'nginx-demo'),
    tlsDir: path.join(dataDir, 'tls'),
    logFile: path.join(dataDir, 'berth-demo.log'),
  };
}

/** How berth drives the demo Nginx: commands (empty = render only), its admin server and error log. */
export interface DemoNginxCmds {
  test: string;
  reload: string;
  /** Loopback ip:port for the admin server in http.conf (empty: none). */
  adminListen?: string;
  errorLog?: string;
  /** The demo's nginx.conf (BERTH_NGINX_MAIN_CONF): changes are staged and tested through its candidate copy. */
  mainConf?: string;
  /** BERTH_TLS_DIR: set only when the demo has a certificate (otherwise no app asks for HTTPS). */
  tlsDir?: string;
}

/** The environment handed to `loadConfig`. `nginxCmds` empty = render only. */
export function demoEnv(flags: DemoFlags, env: Env, s: DemoSettings, marathonUrl: string, nginxCmds: DemoNginxCmds): Env {
  const out: Env = {};
  // Keep the user's BERTH_* settings (log level, zones, TTL, sync interval…), nothing else.
  for (const [k, v] of Object.entries(env)) if (k.startsWith('BERTH_')) out[k] = v;
  // The demo is the embedded database by definition; a config file could point elsewhere.
  delete out.BERTH_DATABASE_URL;
  delete out.BERTH_CONFIG;
  delete out.BERTH_MARATHON_USERNAME;
  delete out.BERTH_MARATHON_PASSWORD;
  delete out.BERTH_MARATHON_TOKEN;
  return {
    ...out,
    BERTH_MARATHON_URLS: marathonUrl,
    BERTH_DATA_DIR: s.dataDir,
    BERTH_HTTP_ADDR: flags.httpAddr ?? (out.BERTH_HTTP_ADDR || '127.0.0.1:8080'),
    BERTH_DNS_ADDR: flags.dnsAddr ?? (out.BERTH_DNS_ADDR || '127.0.0.1:5353'),
    BERTH_NGINX_DIR: s.nginxDir,
    BERTH_NGINX_TEMPLATES: s.templates,
    BERTH_NGINX_HTTP_LISTEN: `${s.nginxHost}:${s.nginxPort}`,
    // Unprivileged, like the HTTP port: the demo runs without root.
    BERTH_NGINX_HTTPS_LISTEN: `${s.nginxHost}:${s.httpsPort}`,
    BERTH_TLS_DIR: nginxCmds.tlsDir ?? '',
    BERTH_NGINX_TEST_CMD: nginxCmds.test,
    BERTH_NGINX_RELOAD_CMD: nginxCmds.reload,
    BERTH_NGINX_ADMIN_LISTEN: out.BERTH_NGINX_ADMIN_LISTEN || nginxCmds.adminListen || '',
    ...(nginxCmds.errorLog ? { BERTH_NGINX_ERROR_LOG: nginxCmds.errorLog } : {}),
    ...(nginxCmds.mainConf ? { BERTH_NGINX_MAIN_CONF: nginxCmds.mainConf } : {}),
    // Half a second: changes show up in Nginx while you watch (production default: 2 s).
    BERTH_SYNC_INTERVAL_MS: out.BERTH_SYNC_INTERVAL_MS || '500',
    BERTH_LABEL_PREFIX: 'berth.',
    BERTH_DEFAULT_ENV: 'integration',
    // The demo pool is on loopback (127.77.0.0/24), a class fixed IPs may otherwise not use.
    BERTH_FIXED_IP_ALLOW_CIDRS: out.BERTH_FIXED_IP_ALLOW_CIDRS || DEMO_POOL.cidr,
    BERTH_ENVIRONMENTS: JSON.stringify(DEMO_ENVIRONMENTS),
  };
}
