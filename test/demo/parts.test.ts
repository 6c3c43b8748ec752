import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { BAD_APP_ID, demoCatalog, DEMO_HSTS_SECONDS, TLS_APP_ID } from '../../src/demo/apps';
import { startRedisLike } from '../../src/demo/backends';
import { startChurn } from '../../src/demo/churn';
import { demoNginxConf } from '../../src/demo/nginx';
import { demoEnv, demoSettings } from '../../src/demo/options';
import { panelLines, type PanelInfo } from '../../src/demo/panel';
import { DemoError, runDemo } from '../../src/demo/run';
import { silentLogger } from '../../src/log';
import type { App } from '../../src/marathon/types';
import { parseApp } from '../../src/model/spec';
import { startSimulator, validateMarathonApp } from '../../src/sim';
import { itWithTools } from '../support/tools';
import { waitFor } from '../support/wait';

const EXAMPLE = fs.readFileSync(path.resolve(__dirname, '../../nginx-templates/nginx.conf.example'), 'utf8');

describe('demo catalog', () => {
  const apps = demoCatalog({ zone: 'berth.internal', tcpListen: 16379, pool: 'demo' });

  it('is about twenty valid Marathon apps over integration and func-a, one of them with bad labels', () => {
    expect(apps.length).toBeGreaterThanOrEqual(18);
    for (const a of apps) expect(validateMarathonApp(a.def, '1.10')).toEqual([]);
    const results = apps.map((a) => ({
      id: a.def.id,
      r: parseApp(
        {
          ...(a.def as unknown as App),
          labels: {
            ...(a.def.labels as Record<string, string>),
            'berth.ip': a.reach === 'fixed' ? '127.77.0.9' : (a.def.labels as Record<string, string> | undefined)?.['berth.ip'],
          },
        } as App,
        { defaultEnv: 'integration' },
      ),
    }));
    expect(results.filter((x) => x.r.kind === 'invalid').map((x) => x.id)).toEqual([BAD_APP_ID]);
    const envs = new Set(results.flatMap((x) => (x.r.kind === 'spec' ? [x.r.spec.env] : [])));
    expect([...envs].sort()).toEqual(['func-a', 'integration']);
    expect(new Set(apps.map((a) => a.reach))).toEqual(new Set(['bridge', 'host', 'container', 'fixed', 'none']));
    expect(apps.some((a) => (a.def.labels as Record<string, string> | undefined)?.['berth.proxy'] === 'tcp')).toBe(true);
  });

  it('asks for HTTPS (redirect, HSTS) on one app only when the demo has a certificate', () => {
    const tlsLabels = (list: typeof apps) =>
      list.flatMap((a) => {
        const labels = (a.def.labels as Record<string, string> | undefined) ?? {};
        return labels['berth.tls'] ? [{ id: a.def.id, tls: labels['berth.tls'], hsts: labels['berth.tls.hsts'] }] : [];
      });
    expect(tlsLabels(apps)).toEqual([]);
    const withHttps = demoCatalog({ zone: 'berth.internal', tcpListen: 16379, pool: 'demo', https: true });
    expect(tlsLabels(withHttps)).toEqual([{ id: TLS_APP_ID, tls: 'redirect', hsts: String(DEMO_HSTS_SECONDS) }]);
    const def = withHttps.find((a) => a.def.id === TLS_APP_ID)?.def as unknown as App;
    const r = parseApp(def, { defaultEnv: 'integration' });
    expect(r.kind === 'spec' && { domains: r.spec.domains, tls: r.spec.tls, hsts: r.spec.hsts }).toEqual({
      domains: ['static.integration.berth.internal'],
      tls: 'redirect',
      hsts: DEMO_HSTS_SECONDS,
    });
  });

  it('asks berth for every fixed IP (berth.ip=auto:<pool>) on single-instance apps', () => {
    for (const a of apps.filter((x) => x.reach === 'fixed')) {
      expect((a.def.labels as Record<string, string>)['berth.ip']).toBe('auto:demo');
      expect(a.def.instances).toBe(1);
    }
  });
});

describe('demo nginx.conf', () => {
  const o = { prefix: '/tmp/p', generatedDir: '/tmp/p-gen', listenHost: '127.0.0.1', listenPort: 18081, stream: 'module' as const };

  it('moves every root-only path into the prefix and listens on loopback', () => {
    const conf = demoNginxConf(EXAMPLE, o);
    expect(conf).not.toMatch(/\/var\/log|\/run\/nginx\.pid|\/var\/lib\/berth|listen 80 /);
    expect(conf).toContain('pid /tmp/p/nginx.pid;');
    expect(conf).toContain('listen 127.0.0.1:18081 default_server;');
    expect(conf).toContain('include /tmp/p-gen/*/http/*.conf;');
    expect(conf).toContain('include /tmp/p-gen/*/stream/*.conf;');
  });

  it('leaves out stream {} when nginx has no stream module, and refuses an example it does not recognise', () => {
    expect(demoNginxConf(EXAMPLE, { ...o, stream: 'none' })).not.toMatch(/^stream \{/m);
    expect(() => demoNginxConf(EXAMPLE.replace('pid /run/nginx.pid;', ''), o)).toThrow(/pid \/run\/nginx\.pid/);
  });

  itWithTools(['nginx'], 'passes nginx -t as it is generated', () => {
    const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-demo-conf-'));
    try {
      fs.mkdirSync(path.join(prefix, 'gen'));
      const builtIn = /--with-stream(\s|$)/.test(spawnSync('nginx', ['-V'], { encoding: 'utf8' }).stderr);
      const stream = builtIn ? 'builtin' : fs.existsSync('/usr/lib/nginx/modules/ngx_stream_module.so') ? 'module' : 'none';
      fs.writeFileSync(path.join(prefix, 'nginx.conf'), demoNginxConf(EXAMPLE, { ...o, prefix, generatedDir: path.join(prefix, 'gen'), stream }));
      fs.mkdirSync(path.join(prefix, 'tmp'));
      const r = spawnSync('nginx', ['-p', `${prefix}/`, '-c', path.join(prefix, 'nginx.conf'), '-t', '-q'], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    } finally {
      fs.rmSync(prefix, { recursive: true, force: true });
    }
  });
});

describe('demo environment', () => {
  const s = demoSettings({ httpsPort: 18443 }, {}, '/w');

  it('serves HTTPS on an unprivileged loopback port, from the demo TLS folder only when it has a certificate', () => {
    const plain = demoEnv({}, { BERTH_TLS_DIR: '/etc/berth/tls' }, s, 'http://127.0.0.1:1', { test: '', reload: '' });
    expect(plain.BERTH_TLS_DIR).toBe('');
    expect(plain.BERTH_NGINX_HTTPS_LISTEN).toBe('127.0.0.1:18443');
    expect(demoEnv({}, {}, s, 'http://127.0.0.1:1', { test: '', reload: '', tlsDir: s.tlsDir }).BERTH_TLS_DIR).toBe('/w/var/tls');
    expect(demoSettings({}, {}, '/w').httpsPort).toBe(8443);
  });

  itWithTools(['nginx', 'openssl'], 'refuses one port for two Nginx listeners before starting anything', async () => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-demo-ports-'));
    try {
      const flags = { httpAddr: '127.0.0.1:0', dnsAddr: '127.0.0.1:0', nginxPort: 18081, httpsPort: 18081 };
      await expect(runDemo({ flags, env: {}, cwd })).rejects.toThrow(
        new DemoError('--nginx-port and --https-port are both 18081; Nginx needs a port for each'),
      );
      expect(fs.readdirSync(cwd)).toEqual([]);
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });
});

describe('demo panel', () => {
  const info: PanelInfo = {
    apiUrl: 'http://127.0.0.1:8080',
    dns: { host: '127.0.0.1', port: 5353 },
    zone: 'berth.internal',
    nginx: { mode: 'render-only', reason: 'nginx is not installed', host: '127.0.0.1', port: 8081, prefix: '/w/var/nginx-demo', stream: false },
    tcpPort: 16379,
    marathonUrl: 'http://127.0.0.1:4000',
    apps: 20,
    churnMs: 4000,
    pool: 'demo',
    files: { dataDir: '/w/var', nginxDir: '/w/var/nginx', logFile: '/w/var/berth-demo.log' },
    cwd: '/w',
    startupMs: 4200,
  };

  it('says clearly when Nginx is not running, and offers no curl through it', () => {
    const text = panelLines(info).join('\n');
    expect(text).toContain('RENDER ONLY: nginx is not installed');
    expect(text).not.toContain('Host:');
    expect(text).toContain('dig @127.0.0.1 -p 5353 +short web.integration.berth.internal');
    expect(text).toContain('var/nginx/<env>/{http,stream}/*.conf');
    expect(text).toContain('Dashboard http://127.0.0.1:8080/ui/');
    expect(panelLines({ ...info, dashboardBuilt: false }).join('\n')).toContain('NOT BUILT: run `npm run build`');
  });

  it('with Nginx running, shows the curl lines through it', () => {
    const text = panelLines({ ...info, nginx: { ...info.nginx, mode: 'running', stream: true } }).join('\n');
    expect(text).toContain("curl -s -H 'Host: web.integration.berth.internal' http://127.0.0.1:8081/");
    expect(text).toContain('telnet://127.0.0.1:16379');
    expect(text).not.toMatch(/HTTPS|--cacert/);
  });

  it('with HTTPS, shows how to fetch it trusting the demo certificate, and the 308 of plain HTTP', () => {
    const cert = '/w/var/tls/static.integration.berth.internal.crt';
    const https = { host: '127.0.0.1', port: 8443, domain: 'static.integration.berth.internal', cert, hsts: 300 };
    const text = panelLines({ ...info, nginx: { ...info.nginx, mode: 'running', stream: true }, https }).join('\n');
    expect(text).toContain(
      `  curl -si --cacert ${cert} --resolve static.integration.berth.internal:8443:127.0.0.1 https://static.integration.berth.internal:8443/`,
    );
    expect(text).toContain(
      `  curl -s -o /dev/null -w '%{http_code} %{redirect_url}\\n' -H 'Host: static.integration.berth.internal' http://127.0.0.1:8081/docs/start`,
    );
    expect(text).toContain('  var/tls/   the self-signed certificate');
  });

  it('says why there is no HTTPS when Nginx runs without it', () => {
    const text = panelLines({ ...info, nginx: { ...info.nginx, mode: 'running' }, noHttps: 'openssl is not installed (apt-get install openssl)' }).join('\n');
    expect(text).toContain('HTTPS     OFF: openssl is not installed (apt-get install openssl); plain HTTP only');
    expect(text).not.toContain('--cacert');
    expect(panelLines({ ...info, noHttps: 'x' }).join('\n')).not.toContain('HTTPS');
  });
});

describe('demo backends and churn', () => {
  it('the Redis-like server answers PING inline and in RESP', async () => {
    const redis = await startRedisLike('/test/redis');
    try {
      const talk = (bytes: string) =>
        new Promise<string>((resolve, reject) => {
          let got = '';
          const s = net.connect(redis.port, '127.0.0.1', () => s.write(bytes));
          s.on('data', (d) => (got += d));
          s.on('close', () => resolve(got));
          s.on('error', reject);
        });
      expect(await talk('PING\r\nQUIT\r\n')).toBe('+PONG\r\n+OK\r\n');
      expect(await talk('*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nQUIT\r\n')).toBe('+PONG\r\n+OK\r\n');
    } finally {
      await redis.close();
    }
  });

  it('churn changes one thing at a time, stays bounded, and stops', async () => {
    const sim = await startSimulator({ flavour: '1.10' });
    try {
      const place = (_d: unknown, i: number) => ({ host: '127.0.0.1', ports: [40000 + i] });
      const apps = demoCatalog({ zone: 'berth.internal', tcpListen: 16379, pool: 'demo' }).filter((a) =>
        ['/integration/web', '/integration/api', '/integration/orders', '/func-a/web'].includes(String(a.def.id)),
      );
      for (const a of apps) await sim.control.deploy(a.def, { placeTask: place });
      const churn = startChurn(
        sim,
        apps.map((a) => ({ id: String(a.def.id), def: a.def, place, backends: [] })),
        5,
        silentLogger,
      );
      await waitFor(() => churn.count() >= 12, 20_000);
      await churn.stop();
      const after = churn.count();
      expect(sim.control.tasks('/integration/api').length).toBeLessThanOrEqual(3);
      expect(sim.control.tasks('/integration/web').filter((t) => t.state === 'TASK_RUNNING').length).toBe(2);
      // Nothing happens after stop().
      await new Promise((r) => setTimeout(r, 50));
      expect(churn.count()).toBe(after);
    } finally {
      await sim.close();
    }
  });
});
