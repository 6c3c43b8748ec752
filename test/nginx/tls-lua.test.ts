/** TLS in lua mode (BERTH_NGINX_DYNAMIC=lua): the HTTPS blocks of http-lua.conf.hbs pass `nginx -t` and serve by SNI. */
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import tls from 'node:tls';
import { renderServices } from '../../src/nginx/render';
import { loadTemplates } from '../../src/nginx/templates';
import { TlsCatalog } from '../../src/nginx/tls-catalog';
import { describeWithTools } from '../support/tools';
import { aService, TEMPLATES_DIR, tmpDir } from './helpers';
import { freePort } from './nginx-harness';
import { startLuaNginx } from './lua-harness';
import { makePair } from './tls-fixtures';

describeWithTools(['nginx-lua', 'openssl'], 'TLS with the Lua template', () => {
  it('renders HTTPS and the redirect that nginx -t accepts and Nginx serves', async () => {
    const nginx = await startLuaNginx({ workers: 1 });
    try {
      const certs = tmpDir('berth-tls-lua-');
      makePair(certs, 'web.example.test', ['web.example.test']);
      const services = [
        aService({ appId: '/web', domains: ['web.example.test'], tls: 'redirect', hsts: 30 }),
        aService({ appId: '/plain', domains: ['plain.example.test'] }),
      ];
      const resolved = await new TlsCatalog(certs, 14, null).resolve(services, Date.now());
      const httpsPort = await freePort();
      const templates = await loadTemplates(TEMPLATES_DIR, { lua: true });
      const out = renderServices(services, templates, `127.0.0.1:${nginx.httpPort}`, undefined, 'lua', {
        httpsListen: `127.0.0.1:${httpsPort}`,
        plans: resolved.plans,
      });
      expect(out.rejected).toEqual([]);
      for (const f of out.files) {
        fs.mkdirSync(path.dirname(path.join(nginx.dir, f.path)), { recursive: true });
        fs.writeFileSync(path.join(nginx.dir, f.path), f.content);
      }
      execSync(nginx.testCmd, { stdio: 'pipe' });
      // A fresh start rather than a reload: no old worker is left to take a connection with the old config.
      await nginx.stop();
      await nginx.start();
      const cn = async () =>
        new Promise<string>((resolve, reject) => {
          const s = tls.connect({ host: '127.0.0.1', port: httpsPort, servername: 'web.example.test', rejectUnauthorized: false }, () => {
            const subject = s.getPeerCertificate().subject.CN;
            s.end();
            resolve(String(subject));
          });
          s.on('error', reject);
        });
      expect(await cn()).toBe('web.example.test');
      const redirect = () =>
        new Promise<string | undefined>((resolve, reject) => {
          http
            .get({ host: '127.0.0.1', port: nginx.httpPort, path: '/a?b', headers: { host: 'web.example.test' }, agent: false }, (res) => {
              res.resume();
              resolve(res.statusCode === 308 ? String(res.headers.location) : `status ${res.statusCode}`);
            })
            .on('error', reject);
        });
      expect(await redirect()).toBe(`https://web.example.test:${httpsPort}/a?b`);
    } finally {
      await nginx.stop();
    }
  }, 60_000);
});
