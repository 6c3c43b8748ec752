/**
 * The "try this" panel `berth demo` prints once everything is up. Pure. Every command line in it is
 * run by test/demo/demo.test.ts, so what it tells people to type works.
 */
import path from 'node:path';

export interface PanelInfo {
  apiUrl: string;
  dns: { host: string; port: number };
  zone: string;
  nginx: { mode: 'running' | 'render-only'; reason?: string; host: string; port: number; prefix: string; stream: boolean; version?: string };
  /** The app served over HTTPS with the demo's self-signed certificate (absolute path), when there is one. */
  https?: { host: string; port: number; domain: string; cert: string; hsts: number };
  /** Why the demo serves no HTTPS although Nginx runs (openssl missing, …). */
  noHttps?: string;
  tcpPort: number;
  marathonUrl: string;
  apps: number;
  churnMs: number;
  pool: string;
  /** Fixed IP of /func-a/billing (shown next to the curl that reaches it). */
  billingIp?: string;
  files: { dataDir: string; nginxDir: string; logFile: string };
  cwd: string;
  startupMs: number;
  /** Whether dist/ui holds the built dashboard (`npm run build`). */
  dashboardBuilt?: boolean;
}

const rel = (cwd: string, p: string) => {
  const r = path.relative(cwd, p);
  return r && !r.startsWith('..') && !path.isAbsolute(r) ? r : p;
};

function httpsStatusLine(i: PanelInfo): string[] {
  if (i.https) {
    const { host, port, domain, cert } = i.https;
    return [`  HTTPS     https://${domain}:${port}/ on ${host} (berth.tls=redirect with HSTS; self-signed ${rel(i.cwd, cert)})`];
  }
  return i.noHttps && i.nginx.mode === 'running' ? [`  HTTPS     OFF: ${i.noHttps}; plain HTTP only`] : [];
}

/** HTTPS with the right SNI, trusting only the demo's certificate; and the 308 plain HTTP answers instead. */
function httpsCommands(h: NonNullable<PanelInfo['https']>, ngx: string): string[] {
  const url = `https://${h.domain}:${h.port}/`;
  return [
    `  curl -si --cacert ${h.cert} --resolve ${h.domain}:${h.port}:${h.host} ${url}   # HTTPS, HSTS max-age=${h.hsts}`,
    `  curl -s -o /dev/null -w '%{http_code} %{redirect_url}\\n' -H 'Host: ${h.domain}' ${ngx}docs/start   # plain HTTP: 308 to HTTPS`,
  ];
}

/** Lines of the panel (no trailing newline). Commands are indented by exactly two spaces. */
export function panelLines(i: PanelInfo): string[] {
  const dig = `dig @${i.dns.host} -p ${i.dns.port} +short`;
  const z = i.zone;
  const ngx = `http://${i.nginx.host}:${i.nginx.port}/`;
  const lines = [
    '',
    `berth demo is up (${(i.startupMs / 1000).toFixed(1)} s): ${i.apps} apps in a simulated Marathon, environments integration (default) and func-a`,
    '',
    i.dashboardBuilt === false
      ? `  Dashboard ${i.apiUrl}/ui/   NOT BUILT: run \`npm run build\`, then open it`
      : `  Dashboard ${i.apiUrl}/ui/   (open in a browser: overview, services, pools, problems; updates live)`,
    `  API       ${i.apiUrl}   (OpenAPI: ${i.apiUrl}/v1/openapi.json, metrics: ${i.apiUrl}/metrics)`,
    `  DNS       ${i.dns.host}:${i.dns.port} UDP+TCP, zone ${z}; clients from 127.0.0.2 are in func-a`,
    i.nginx.mode === 'running'
      ? `  Nginx     ${ngx} (nginx ${i.nginx.version ?? ''}, prefix ${rel(i.cwd, i.nginx.prefix)}${i.nginx.stream ? '' : ', no stream module: TCP services rendered only'})`
      : `  Nginx     RENDER ONLY: ${i.nginx.reason ?? 'nginx not started'}; files are written, nothing serves them`,
    ...httpsStatusLine(i),
    `  Marathon  ${i.marathonUrl} (simulator; ${i.churnMs > 0 ? `a deploy, scale or health flap every ${i.churnMs / 1000} s` : 'no churn'})`,
    '',
    'Try this:',
    `  ${dig} web.integration.${z}                  # A: the tasks behind the name`,
    `  ${dig} SRV _http._tcp.web.integration.${z}   # SRV: port and target`,
    `  ${dig} cache.${z}                            # integration's cache (fixed IP from pool ${i.pool})`,
    `  ${dig} -b 127.0.0.2 cache.${z}               # func-a has its own cache`,
    `  ${dig} -b 127.0.0.2 api.integration.${z}     # func-a falls back to integration`,
  ];
  if (i.nginx.mode === 'running') {
    lines.push(
      `  curl -s -H 'Host: web.integration.${z}' ${ngx}`,
      `  curl -s -H 'Host: billing.func-a.${z}' ${ngx}       # fixed IP ${i.billingIp ?? ''}`.trimEnd(),
    );
    if (i.https) lines.push(...httpsCommands(i.https, ngx));
    if (i.nginx.stream) lines.push(`  printf 'PING\\r\\nQUIT\\r\\n' | curl -s telnet://${i.nginx.host}:${i.tcpPort}   # Redis through nginx stream`);
  }
  lines.push(
    `  curl -s ${i.apiUrl}/v1/pools/${i.pool}`,
    `  curl -s '${i.apiUrl}/v1/services?env=func-a'`,
    `  curl -s ${i.apiUrl}/v1/problems              # the app with bad labels`,
    '',
    'Files:',
    `  ${rel(i.cwd, i.files.nginxDir)}/<env>/{http,stream}/*.conf   rendered by berth`,
    ...(i.nginx.mode === 'running' ? [`  ${rel(i.cwd, i.nginx.prefix)}/   nginx.conf, error.log, access.log of the demo Nginx`] : []),
    ...(i.https
      ? [`  ${rel(i.cwd, path.dirname(i.https.cert))}/   the self-signed certificate and key (BERTH_TLS_DIR; made again when missing, bad or expiring)`]
      : []),
    `  ${rel(i.cwd, path.join(i.files.dataDir, 'db'))}/   embedded PostgreSQL (delete ${rel(i.cwd, i.files.dataDir)}/ to start afresh)`,
    `  ${rel(i.cwd, i.files.logFile)}   berth's log (JSON lines)`,
    '',
    'Ctrl-C stops everything the demo started.',
  );
  return lines;
}
