/**
 * `berth demo` without the CLI: simulator → Nginx (when installed) → berth (the real `start()`) →
 * sample platform → wait until names resolve and Nginx routes → churn → panel. `stop()` undoes all
 * of it in reverse and leaves nothing running.
 */
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { loadConfig } from '../config/load';
import type { Config } from '../config/schema';
import { defaultUiDir } from '../http/routes/ui-static';
import type { Logger } from '../log';
import { type Berth, start } from '../main';
import { startSimulator, type Simulator } from '../sim';
import { BAD_APP_ID, DEMO_HSTS_SECONDS, tlsDomain } from './apps';
import { startChurn } from './churn';
import { probeNginx, startDemoNginx, type DemoNginx } from './nginx';
import { type DemoFlags, demoEnv, demoSettings } from './options';
import { panelLines } from './panel';
import { freeLoopbackPort, httpsStatus, httpStatus, tcpAnswers, tcpPortFree, udpPortFree, waitUntil } from './procs';
import { api, seedPlatform } from './seed';
import { opensslVersion } from './self-signed';
import { type DemoHttps, ensureDemoCert } from './tls';

/** A demo start-up that cannot go on (port taken, …); the CLI exits 1 with the message. */
export class DemoError extends Error {}

export interface DemoHandle {
  panel: string[];
  config: Config;
  berth: Berth;
  sim: Simulator;
  nginx?: DemoNginx;
  stop(): Promise<void>;
}

export interface RunDemoOptions {
  flags: DemoFlags;
  env: Record<string, string | undefined>;
  cwd: string;
  /** Progress lines while starting (the CLI prints them on stderr). */
  progress?: (line: string) => void;
}

interface NginxPorts {
  http?: number;
  tcp?: number;
  https?: number;
}

async function checkPorts(config: Config, ports: NginxPorts): Promise<void> {
  const flags = { http: '--nginx-port', tcp: '--tcp-port', https: '--https-port' } as const;
  const used = (Object.keys(flags) as Array<keyof NginxPorts>).filter((k) => ports[k] !== undefined);
  for (const [i, a] of used.entries()) {
    const b = used.slice(i + 1).find((k) => ports[k] === ports[a]);
    if (b) throw new DemoError(`${flags[a]} and ${flags[b]} are both ${ports[a]}; Nginx needs a port for each`);
  }
  const busy: string[] = [];
  const { http, dns } = config;
  if (http.port && !(await tcpPortFree(http.host, http.port))) busy.push(`API ${http.host}:${http.port} (--http-addr)`);
  if (dns.port && !((await udpPortFree(dns.host, dns.port)) && (await tcpPortFree(dns.host, dns.port)))) busy.push(`DNS ${dns.host}:${dns.port} (--dns-addr)`);
  if (ports.http && !(await tcpPortFree('127.0.0.1', ports.http))) busy.push(`Nginx 127.0.0.1:${ports.http} (--nginx-port)`);
  if (ports.tcp && !(await tcpPortFree('127.0.0.1', ports.tcp))) busy.push(`Nginx TCP service 127.0.0.1:${ports.tcp} (--tcp-port)`);
  if (ports.https && !(await tcpPortFree('127.0.0.1', ports.https))) busy.push(`Nginx HTTPS 127.0.0.1:${ports.https} (--https-port)`);
  if (busy.length) throw new DemoError(`in use (another demo still running?): ${busy.join(', ')}; pick free ports with the flags named`);
}

/** Starts the whole demo; resolves once the panel is ready. */
export async function runDemo(o: RunDemoOptions): Promise<DemoHandle> {
  const t0 = Date.now();
  const progress = o.progress ?? (() => undefined);
  const say = (line: string) => progress(`${line} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  const s = demoSettings(o.flags, o.env, o.cwd);
  const nginxProbe = s.useNginx ? probeNginx() : { found: false, stream: 'none' as const, https: false };
  // Validate everything (flags included) before anything starts.
  const precheck = loadConfig(demoEnv(o.flags, o.env, s, 'http://127.0.0.1:1', { test: '', reload: '' }));
  const zone = precheck.dns.zones[0];
  const httpsWanted = nginxProbe.found && nginxProbe.https && opensslVersion() !== undefined;
  await checkPorts(precheck, {
    http: nginxProbe.found ? s.nginxPort : undefined,
    tcp: nginxProbe.found && nginxProbe.stream !== 'none' ? s.tcpPort : undefined,
    https: httpsWanted ? s.httpsPort : undefined,
  });
  fs.mkdirSync(s.dataDir, { recursive: true });
  const logger: Logger = pino({ name: 'berth', level: precheck.logLevel }, pino.destination({ dest: s.logFile, sync: true }));

  const stops: Array<{ what: string; stop: () => Promise<void> }> = [];
  const stopAll = async () => {
    for (const { what, stop } of stops.reverse()) {
      await stop().catch((err: Error) => logger.error({ err: err.message, what }, 'demo: error while stopping'));
    }
  };
  try {
    const sim = await startSimulator({ flavour: '1.10' });
    stops.push({ what: 'simulator', stop: () => sim.close() });
    say(`simulated Marathon on ${sim.url}`);

    let nginx: DemoNginx | undefined;
    let renderOnly: string | undefined = s.useNginx ? 'nginx is not installed (apt-get install nginx-light libnginx-mod-stream)' : 'started with --no-nginx';
    if (nginxProbe.found) {
      try {
        nginx = await startDemoNginx(
          {
            prefix: s.nginxPrefix,
            generatedDir: s.nginxDir,
            exampleConf: s.exampleConf,
            listenHost: s.nginxHost,
            listenPort: s.nginxPort,
            stream: nginxProbe.stream,
            version: nginxProbe.version,
          },
          () => tcpAnswers(s.nginxHost, s.nginxPort),
        );
        stops.push({ what: 'nginx', stop: () => (nginx as DemoNginx).stop() });
        renderOnly = undefined;
        say(`nginx ${nginxProbe.version ?? ''} on ${s.nginxHost}:${s.nginxPort} (prefix ${s.nginxPrefix})`);
      } catch (err) {
        renderOnly = `nginx did not start: ${(err as Error).message}`;
      }
    }
    if (renderOnly) say(`RENDER ONLY: ${renderOnly}`);

    // HTTPS only through a running Nginx; without a certificate no app asks for it.
    let https: DemoHttps | undefined;
    let noHttps: string | undefined;
    if (nginx) {
      const domain = tlsDomain(zone);
      const cert = nginxProbe.https
        ? await ensureDemoCert({ dir: s.tlsDir, domain, now: Date.now(), warnDays: precheck.tls.expiryWarnDays })
        : { ok: false as const, reason: `nginx ${nginxProbe.version ?? ''} lacks the SSL or HTTP/2 module` };
      if (cert.ok) {
        https = { domain, port: s.httpsPort, cert: cert.cert };
        say(`HTTPS for ${domain} on ${s.nginxHost}:${s.httpsPort}: self-signed ${cert.cert} (${cert.made ? `made: ${cert.made}` : 'reused'})`);
      } else {
        noHttps = cert.reason;
        say(`HTTPS OFF: ${noHttps}; plain HTTP only`);
      }
    }

    // The admin server berth renders into http.conf gets a port the OS picks (8099 may be taken).
    const cmds = nginx
      ? {
          test: nginx.testCmd,
          reload: nginx.reloadCmd,
          mainConf: nginx.conf,
          adminListen: `127.0.0.1:${await freeLoopbackPort()}`,
          errorLog: nginx.errorLog,
          tlsDir: https ? s.tlsDir : undefined,
        }
      : { test: '', reload: '' };
    const config = loadConfig(demoEnv(o.flags, o.env, s, sim.url, cmds));
    const berth = await start(config, { logger });
    stops.push({ what: 'berth', stop: () => berth.stop() });
    say(`berth API on ${berth.url}, DNS on ${berth.dnsAddress.host}:${berth.dnsAddress.port}`);

    const token = config.apiTokens[0];
    const platform = await seedPlatform({ sim, apiUrl: berth.url, token, logger, zone, tcpListen: s.tcpPort, pool: 'demo', https: https !== undefined });
    stops.push({ what: 'backends', stop: () => platform.close() });
    say(`${platform.apps.length} apps deployed`);

    const ready = await waitReady(berth.url, zone, nginx ? s.nginxPort : undefined, https);
    const churn = startChurn(sim, platform.apps, s.churnMs, logger);
    if (s.churnMs > 0) stops.push({ what: 'churn', stop: () => churn.stop() });
    else await churn.stop();

    const panel = panelLines({
      apiUrl: berth.url,
      dns: berth.dnsAddress,
      zone,
      nginx: {
        mode: nginx ? 'running' : 'render-only',
        reason: renderOnly,
        host: s.nginxHost,
        port: s.nginxPort,
        prefix: s.nginxPrefix,
        stream: nginxProbe.stream !== 'none',
        version: nginxProbe.version,
      },
      https: https ? { ...https, host: s.nginxHost, hsts: DEMO_HSTS_SECONDS } : undefined,
      noHttps,
      tcpPort: s.tcpPort,
      marathonUrl: sim.url,
      apps: platform.apps.length,
      churnMs: s.churnMs,
      pool: platform.pool,
      billingIp: platform.apps.find((a) => a.id === '/func-a/billing')?.ip,
      files: { dataDir: s.dataDir, nginxDir: s.nginxDir, logFile: s.logFile },
      cwd: o.cwd,
      startupMs: Date.now() - t0,
      dashboardBuilt: fs.existsSync(path.join(defaultUiDir(), 'index.html')),
    });
    if (!ready.ok) panel.splice(1, 0, `WARNING: ${ready.reason}; see ${s.logFile}`);
    let stopped: Promise<void> | undefined;
    return { panel, config, berth, sim, nginx, stop: () => (stopped ??= stopAll()) };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** Waits (bounded) until berth publishes the sample services and, with Nginx, routes to them. */
async function waitReady(apiUrl: string, zone: string, nginxPort: number | undefined, https: DemoHttps | undefined): Promise<{ ok: boolean; reason?: string }> {
  const services = await waitUntil(async () => {
    const r = await api(apiUrl, 'GET', '/v1/services').catch(() => undefined);
    const list = (r?.body.services as Array<{ domains: string[]; endpoints: unknown[] }> | undefined) ?? [];
    const problems = await api(apiUrl, 'GET', '/v1/problems').catch(() => undefined);
    const bad = ((problems?.body.problems as Array<{ appId: string }> | undefined) ?? []).some((p) => p.appId === BAD_APP_ID);
    return bad && list.some((x) => x.domains.includes(`web.integration.${zone}`) && x.endpoints.length > 0) && list.length >= 17;
  }, 30_000);
  if (!services) return { ok: false, reason: 'berth has not published the sample services within 30 s' };
  if (nginxPort === undefined) return { ok: true };
  // The panel's HTTPS line trusts only the demo's certificate: so does this check.
  const ca = https ? fs.readFileSync(https.cert) : undefined;
  const routed = await waitUntil(async () => {
    for (const host of [`web.integration.${zone}`, `billing.func-a.${zone}`]) {
      if ((await httpStatus('127.0.0.1', nginxPort, host)) !== 200) return false;
    }
    return https && ca ? (await httpsStatus('127.0.0.1', https.port, https.domain, ca)) === 200 : true;
  }, 15_000);
  return routed ? { ok: true } : { ok: false, reason: `Nginx does not route to the sample services${https ? ' (or HTTPS)' : ''} yet` };
}
