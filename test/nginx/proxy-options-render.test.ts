/**
 * Proxy options in the rendered files (off, lua and stream templates), the render-time re-check of
 * option values, and `nginx -t` on every combination of option values in each mode.
 */
import type { ProxyOptions, Service } from '../../src/model/types';
import { renderServices, type DynamicMode } from '../../src/nginx/render';
import { loadTemplates } from '../../src/nginx/templates';
import { describeWithTools } from '../support/tools';
import { aService, anEndpoint, TEMPLATES_DIR, withEndpoints } from './helpers';
import { nginxT } from './nginx-t';

const withOptions = (options: ProxyOptions) => (s: Service) => ({ ...s, options });
const ep = withEndpoints(anEndpoint('10.0.0.5', 8080));

async function render(services: Service[], mode: DynamicMode) {
  const templates = await loadTemplates(TEMPLATES_DIR, { lua: mode === 'lua' });
  return renderServices(services, templates, '127.0.0.1:8080', undefined, mode);
}

describe.each(['off', 'lua'] as const)('http files (BERTH_NGINX_DYNAMIC=%s)', (mode) => {
  test('options become directives; an app without options keeps the defaults and no extra line', async () => {
    const withOpts = aService(
      { appId: '/a' },
      ep,
      withOptions({ connectTimeout: 2, readTimeout: 300, bodyMax: 1048576, allow: ['192.0.2.0/24', '2001:db8::/32'] }),
    );
    const plain = aService({ appId: '/b' }, ep);
    const { files, rejected } = await render([withOpts, plain], mode);
    expect(rejected).toEqual([]);
    const [a, b] = files.map((f) => f.content);
    expect(a).toContain('proxy_connect_timeout 2s;');
    expect(a).toContain('proxy_read_timeout 300s;');
    expect(a).toContain('proxy_send_timeout 300s;');
    expect(a).toContain('client_max_body_size 1048576;');
    expect(a).toMatch(/allow 192\.0\.2\.0\/24;\s+allow 2001:db8::\/32;\s+deny all;/);
    expect(b).toContain('proxy_connect_timeout 5s;');
    expect(b).toContain('proxy_read_timeout 60s;');
    expect(b).not.toMatch(/client_max_body_size|allow |deny all/);
  });

  test('a hostile option value reaching the renderer rejects only that service (NGINX_INVALID_SERVICE)', async () => {
    const bad = [
      { allow: ['10.0.0.0/8; include /etc/passwd'] },
      { allow: [] },
      { bodyMax: 0 },
      { bodyMax: 2 ** 40 },
      { readTimeout: 1.5 },
      { connectTimeout: -1 },
      { allow: Array.from({ length: 65 }, (_, i) => `10.${i}.0.0/16`) },
    ] as ProxyOptions[];
    const services = bad.map((o, i) => aService({ appId: `/bad${i}` }, ep, withOptions(o)));
    const { files, rejected } = await render([...services, aService({ appId: '/good' }, ep)], mode);
    expect(rejected.map((r) => [r.appId, r.code])).toEqual(bad.map((_, i) => [`/bad${i}`, 'NGINX_INVALID_SERVICE']));
    expect(files.map((f) => f.appId)).toEqual(['/good']);
  });
});

test('tcp files: connect timeout and allow-list go into the stream server', async () => {
  const s = aService({ appId: '/db', proxy: 'tcp', listen: 5432 }, ep, withOptions({ connectTimeout: 3, allow: ['192.0.2.9'] }));
  const { files } = await render([s], 'off');
  expect(files[0].content).toMatch(/listen [^;]*5432;\s+allow 192\.0\.2\.9;\s+deny all;/);
  expect(files[0].content).toContain('proxy_connect_timeout 3s;');
});

/** Every combination of unset / lowest / highest value of each option. */
function combinations(): ProxyOptions[] {
  const many = Array.from({ length: 64 }, (_, i) => (i % 2 ? `2001:db8:${i.toString(16)}::/48` : `10.${i}.0.0/16`));
  const out: ProxyOptions[] = [];
  for (const connectTimeout of [undefined, 1, 60])
    for (const readTimeout of [undefined, 1, 3600])
      for (const bodyMax of [undefined, 1, 1024 ** 3])
        for (const allow of [undefined, ['127.0.0.1'], many]) {
          const o: ProxyOptions = {};
          if (connectTimeout !== undefined) o.connectTimeout = connectTimeout;
          if (readTimeout !== undefined) o.readTimeout = readTimeout;
          if (bodyMax !== undefined) o.bodyMax = bodyMax;
          if (allow !== undefined) o.allow = allow;
          out.push(o);
        }
  return out;
}

for (const mode of ['off', 'lua'] as const) {
  describeWithTools(mode === 'lua' ? ['nginx-lua'] : ['nginx'], `nginx -t on every option combination (BERTH_NGINX_DYNAMIC=${mode})`, () => {
    it('accepts all 81 http and 9 tcp combinations in one configuration', async () => {
      const combos = combinations();
      const http = combos.map((o, i) => aService({ appId: `/h${i}` }, ep, withOptions(o)));
      const tcp = combos
        .filter((o) => o.readTimeout === undefined && o.bodyMax === undefined)
        .map((o, i) => aService({ appId: `/t${i}`, proxy: 'tcp', listen: 20000 + i }, ep, withOptions(o)));
      const { files, rejected } = await render([...http, ...tcp], mode);
      expect(rejected).toEqual([]);
      expect(files).toHaveLength(81 + 9);
      const r = nginxT(
        mode,
        files.map((f) => ({ content: f.content, tcp: f.appId.startsWith('/t') })),
      );
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    });
  });
}
