/**
 * Domains shared by path prefix in the rendered files (shared-domains.ts, both modes): one file per
 * shared domain with every member's locations, members' upstreams in their own files, the render-time
 * re-check of paths, and `nginx -t` on every combination, TLS on a shared domain included.
 */
import { Registry } from 'prom-client';
import type { Service } from '../../src/model/types';
import { renderDryRun } from '../../src/nginx/dry-run';
import { renderServices } from '../../src/nginx/render';
import type { DynamicMode, TlsRenderInput } from '../../src/nginx/template-context';
import { InMemoryRegistryView } from '../../src/registry/view';
import { loadTemplates } from '../../src/nginx/templates';
import { TlsCatalog } from '../../src/nginx/tls-catalog';
import { describeWithTools } from '../support/tools';
import { aService, anEndpoint, TEMPLATES_DIR, tmpDir, withEndpoints } from './helpers';
import { nginxT } from './nginx-t';
import { makePair } from './tls-fixtures';

const ep = withEndpoints(anEndpoint('10.0.0.5', 8080));
const DOMAIN = 'shop.berth.internal';
const web = aService({ appId: '/web', domains: [DOMAIN, 'www.berth.internal'], dns: 'proxy' }, ep);
const api = aService(
  { appId: '/api', domains: [DOMAIN], paths: ['/api'], pathStrip: true, dns: 'proxy', options: { allow: ['192.0.2.0/24'], bodyMax: 1024 } },
  ep,
);
const v2 = aService({ appId: '/v2', domains: [DOMAIN], paths: ['/api/v2', '/static'], dns: 'proxy' }, ep);

async function render(services: Service[], mode: DynamicMode, tls?: TlsRenderInput) {
  const templates = await loadTemplates(TEMPLATES_DIR, { lua: mode === 'lua' });
  return renderServices(services, templates, '127.0.0.1:8080', undefined, mode, tls);
}

const byPath = (files: Array<{ path: string; content: string }>) => new Map(files.map((f) => [f.path, f.content]));

describe.each(['off', 'lua'] as const)('shared domains (BERTH_NGINX_DYNAMIC=%s)', (mode) => {
  test('one file for the shared domain with every member; the / app keeps its other names; a path app renders its upstream only', async () => {
    const { files, rejected } = await render([web, api, v2], mode);
    expect(rejected).toEqual([]);
    const f = byPath(files);
    expect([...f.keys()].sort()).toEqual([
      'default/http/_6shop_2berth_2internal.conf',
      'default/http/api.conf',
      'default/http/v2.conf',
      'default/http/web.conf',
    ]);
    const shared = f.get('default/http/_6shop_2berth_2internal.conf')!;
    expect(shared.match(/server_name [^;]+;/g)).toEqual([`server_name ${DOMAIN};`]);
    expect(shared.match(/location [^{]+\{/g)).toEqual([
      'location = /api {',
      'location /api/ {',
      'location = /api/v2 {',
      'location /api/v2/ {',
      'location = /static {',
      'location /static/ {',
      'location / {',
    ]);
    // Strip replaces the matched prefix; without strip the path goes through unchanged.
    expect(shared).toContain('proxy_pass http://berth__default__api/;');
    expect(shared).toContain('proxy_pass http://berth__default__v2;');
    expect(shared).toContain('proxy_pass http://berth__default__web;');
    // Per-app options stay in the app's own locations.
    expect(shared.match(/allow 192\.0\.2\.0\/24;/g)).toHaveLength(2);
    expect(shared.match(/client_max_body_size 1024;/g)).toHaveLength(2);
    expect(shared).not.toContain('return 404');
    expect(f.get('default/http/web.conf')).toMatch(/server_name www\.berth\.internal;/);
    expect(f.get('default/http/web.conf')).not.toContain(DOMAIN);
    expect(f.get('default/http/api.conf')).toContain('upstream berth__default__api {');
    expect(f.get('default/http/api.conf')).not.toMatch(/server \{|location/);
  });

  test('an app on no shared domain renders exactly as it did before paths existed', async () => {
    const alone = aService({ appId: '/alone' }, ep);
    const before = (await render([alone], mode)).files[0].content;
    const after = byPath((await render([alone, web, api], mode)).files).get('default/http/alone.conf');
    expect(after).toBe(before);
    expect(before).toContain('server_name alone.berth.internal;');
  });

  test('without a / app the shared domain answers 404 for a path no app serves', async () => {
    const { files } = await render([api], mode);
    const shared = byPath(files).get('default/http/_6shop_2berth_2internal.conf')!;
    expect(shared).toMatch(/location \/ \{\n\s+return 404;\n\s+\}/);
  });

  test('a repeated location (two / apps, one prefix twice) rejects the later member only', async () => {
    const web2 = aService({ ...web, appId: '/web2' }, ep);
    const api2 = aService({ ...api, appId: '/api2' }, ep);
    const { files, rejected } = await render([web, web2, api, api2], mode);
    expect(rejected.map((r) => [r.appId, r.code])).toEqual([
      ['/api2', 'NGINX_INVALID_SERVICE'],
      ['/web2', 'NGINX_INVALID_SERVICE'],
    ]);
    expect(files.map((f) => f.appId).sort()).toEqual(['/api', '/web', '/web']);
  });

  test('berth render --dry-run shows the same files as the daemon renders', async () => {
    const view = new InMemoryRegistryView();
    view.set([web, api, v2]);
    const dry = await renderDryRun({ view, dir: tmpDir(), templatesDir: TEMPLATES_DIR, httpListen: '127.0.0.1:8080', dynamic: mode });
    const daemon = await render([web, api, v2], mode);
    expect(dry.files.map((f) => [f.path, f.action, f.content])).toEqual(
      daemon.files.map((f) => [f.path, 'write', f.content]).sort((a, b) => (a[0]! < b[0]! ? -1 : 1)),
    );
  });

  test('a hostile path reaching the renderer rejects only that service', async () => {
    const bad = [['/a;}server{'], ['/a b'], ['//'], ['/..'], ['/api/'], [], ['/a', '/a'], Array.from({ length: 17 }, (_, i) => `/p${i}`)];
    const services = bad.map((paths, i) => aService({ appId: `/bad${i}`, domains: [DOMAIN], paths }, ep));
    const strip = aService({ appId: '/strip', pathStrip: true }, ep);
    const { files, rejected } = await render([...services, strip, api], mode);
    expect(rejected.map((r) => r.appId).sort()).toEqual([...bad.map((_, i) => `/bad${i}`), '/strip'].sort());
    expect(new Set(rejected.map((r) => r.code))).toEqual(new Set(['NGINX_INVALID_SERVICE']));
    expect(files.map((f) => f.appId).sort()).toEqual(['/api', '/api']);
  });
});

for (const mode of ['off', 'lua'] as const) {
  describeWithTools(mode === 'lua' ? ['nginx-lua', 'openssl'] : ['nginx', 'openssl'], `nginx -t on shared domains (BERTH_NGINX_DYNAMIC=${mode})`, () => {
    it('accepts every combination of / app, strip, options, sticky (cookie, ip), no endpoints and TLS (on, redirect, HSTS) in one configuration', async () => {
      const tlsDir = tmpDir('berth-paths-tls-');
      const services: Service[] = [];
      let n = 0;
      for (const root of [false, true])
        for (const strip of [false, true])
          for (const tls of [undefined, 'on', 'redirect'] as const)
            for (const empty of [false, true])
              for (const sticky of [undefined, 'cookie', 'ip'] as const) {
                const domain = `d${n++}.berth.internal`;
                if (tls) makePair(tlsDir, domain, [domain]);
                const t = tls ? { tls, hsts: 60 } : {};
                const st = sticky ? { sticky } : {};
                if (root) services.push(aService({ appId: `/root${n}`, domains: [domain, `other${n}.berth.internal`], dns: 'proxy', options: st, ...t }, ep));
                services.push(
                  aService(
                    {
                      appId: `/a${n}`,
                      domains: [domain],
                      paths: ['/api', '/static'],
                      ...(strip ? { pathStrip: true as const } : {}),
                      options: { allow: ['127.0.0.1'], ...st },
                      ...t,
                    },
                    empty ? (s) => s : ep,
                  ),
                  aService({ appId: `/b${n}`, domains: [domain], paths: ['/api/v2'], options: { bodyMax: 10, readTimeout: 5, sticky: 'cookie' }, ...t }, ep),
                );
              }
      const catalog = new TlsCatalog(tlsDir, 14, new Registry());
      const resolved = await catalog.resolve(services, Date.now());
      const { files, rejected } = await render(services, mode, { httpsListen: '127.0.0.1:8443', plans: resolved.plans });
      expect(rejected).toEqual([]);
      const shared = files.filter((f) => f.path.includes('/_6'));
      expect(shared).toHaveLength(n);
      expect(shared.filter((f) => f.content.includes('ssl_certificate '))).toHaveLength(48);
      const r = nginxT(
        mode,
        files.map((f) => ({ content: f.content, tcp: false })),
      );
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    });
  });
}
