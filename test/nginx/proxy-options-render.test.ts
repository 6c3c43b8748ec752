/**
 * Proxy options in the rendered files (off, lua and stream templates), the render-time re-check of
 * option values, and `nginx -t` on every combination of option values (with sticky sessions and TLS)
 * in each mode.
 */
import path from 'node:path';
import type { ProxyOptions, Service } from '../../src/model/types';
import { renderServices } from '../../src/nginx/render';
import type { DynamicMode, TlsRenderInput } from '../../src/nginx/template-context';
import { stickyCookieName, serviceUpstreamName } from '../../src/nginx/names';
import { tlsPlanKey, type TlsPlan } from '../../src/nginx/tls-catalog';
import { loadTemplates } from '../../src/nginx/templates';
import { describeWithTools } from '../support/tools';
import { aService, anEndpoint, TEMPLATES_DIR, tmpDir, withEndpoints } from './helpers';
import { makePair } from './tls-fixtures';
import { nginxT } from './nginx-t';

const withOptions = (options: ProxyOptions) => (s: Service) => ({ ...s, options });
const ep = withEndpoints(anEndpoint('10.0.0.5', 8080));

async function render(services: Service[], mode: DynamicMode, tls?: TlsRenderInput) {
  const templates = await loadTemplates(TEMPLATES_DIR, { lua: mode === 'lua' });
  return renderServices(services, templates, '127.0.0.1:8080', undefined, mode, tls);
}

/** TLS input giving every service with `tls` one HTTPS server with the pair in `dir` (`t.crt`, `t.key`). */
function tlsFor(services: Service[], dir: string): TlsRenderInput {
  const plans = new Map<string, TlsPlan>();
  for (const s of services) {
    if (s.tls === undefined) continue;
    const server = { serverNames: s.domains.join(' '), cert: path.join(dir, 't.crt'), key: path.join(dir, 't.key'), fingerprint: 'f' };
    plans.set(tlsPlanKey(s), { servers: [server], redirect: s.tls === 'redirect', hsts: s.hsts ?? null });
  }
  return { httpsListen: '127.0.0.1:8443', plans };
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

describe.each(['off', 'lua'] as const)('berth.sticky in http files (BERTH_NGINX_DYNAMIC=%s)', (mode) => {
  test('cookie: a per-upstream cookie, validated and only set when absent, is the hash key', async () => {
    const s = aService({ appId: '/c' }, ep, withOptions({ sticky: 'cookie' }));
    const { files, rejected } = await render([s], mode);
    expect(rejected).toEqual([]);
    const text = files[0].content;
    const name = stickyCookieName(serviceUpstreamName(s));
    expect(name).toMatch(/^berth_[0-9a-f]{16}$/);
    // Only a value shaped like $request_id is used; anything else is replaced by a new one.
    expect(text).toContain(
      [
        '    set $berth_sticky_key $request_id;',
        `    set $berth_set_cookie "${name}=$request_id; Path=/; HttpOnly; SameSite=Lax";`,
        `    if ($cookie_${name} ~ "^[0-9a-f]{32}$") {`,
        `        set $berth_sticky_key $cookie_${name};`,
        '        set $berth_set_cookie "";',
        '    }',
      ].join('\n'),
    );
    expect(text).toContain('add_header Set-Cookie $berth_set_cookie always;');
    expect(text).not.toContain('Secure');
    if (mode === 'off') {
      expect(text).toMatch(
        /upstream berth__default__c \{\n(\s+#.*\n)?\s+hash \$berth_sticky_key consistent;\n\s+server 10\.0\.0\.5:8080[^\n]*\n\s+keepalive 16;/,
      );
    } else {
      expect(text).toContain('access_by_lua_block { berth_balancer.access(ngx.var.berth_sticky_key) }');
      expect(text).not.toMatch(/^\s*hash /m);
    }
  });

  test('ip: the client address is the key; no cookie', async () => {
    const { files } = await render([aService({ appId: '/i' }, ep, withOptions({ sticky: 'ip' }))], mode);
    const text = files[0].content;
    if (mode === 'off') expect(text).toContain('hash $binary_remote_addr consistent;');
    else expect(text).toContain('access_by_lua_block { berth_balancer.access(ngx.var.binary_remote_addr) }');
    expect(text).not.toMatch(/Set-Cookie|berth_sticky_key/);
  });

  test('without the option the file has no sticky line and the balancer goes round robin', async () => {
    const { files } = await render([aService({ appId: '/p' }, ep)], mode);
    expect(files[0].content).not.toMatch(/sticky|hash |Set-Cookie/);
    if (mode === 'lua') expect(files[0].content).toContain('access_by_lua_block { berth_balancer.access() }');
  });

  test('every upstream has its own cookie: two apps, and the main and per-port services of one app', async () => {
    const services = [
      aService({ appId: '/a' }, ep, withOptions({ sticky: 'cookie' })),
      aService({ appId: '/b' }, ep, withOptions({ sticky: 'cookie' })),
      aService({ appId: '/a', port: 'admin', domains: ['admin.a.berth.internal'] }, ep, withOptions({ sticky: 'cookie' })),
      aService({ appId: '/a', env: 'other' }, ep, withOptions({ sticky: 'cookie' })),
    ];
    const { files } = await render(services, mode);
    const names = files.map((f) => /"(berth_[0-9a-f]{16})=\$request_id/.exec(f.content)![1]);
    expect(new Set(names).size).toBe(4);
  });

  test('TLS: the HTTPS server sets the cookie too and keeps HSTS; a redirecting HTTP server sets none', async () => {
    const certs = tmpDir('berth-sticky-tls-');
    const on = aService({ appId: '/on', tls: 'on', hsts: 600 }, ep, withOptions({ sticky: 'cookie' }));
    const redirect = aService({ appId: '/re', tls: 'redirect' }, ep, withOptions({ sticky: 'cookie' }));
    const { files } = await render([on, redirect], mode, tlsFor([on, redirect], certs));
    const servers = (text: string) => text.split(/\nserver \{/).slice(1);
    const [plain, https] = servers(files[0].content);
    expect(plain).toContain('add_header Set-Cookie');
    expect(plain).not.toContain('Secure');
    expect(https).toMatch(
      /add_header Strict-Transport-Security "max-age=600" always;[\s\S]*; SameSite=Lax; Secure";[\s\S]*add_header Set-Cookie \$berth_set_cookie always;/,
    );
    const [plainRedirect, httpsRedirect] = servers(files[1].content);
    expect(plainRedirect).toContain('return 308');
    expect(plainRedirect).not.toContain('Set-Cookie');
    expect(httpsRedirect).toContain('; Secure";');
  });

  test('a hostile sticky value reaching the renderer rejects only that service; cookie on tcp too', async () => {
    const bad = [{ sticky: 'on' }, { sticky: 'cookie; include /etc/passwd' }, { sticky: '$remote_addr' }] as unknown as ProxyOptions[];
    const services = bad.map((o, i) => aService({ appId: `/bad${i}` }, ep, withOptions(o)));
    services.push(aService({ appId: '/badtcp', proxy: 'tcp', listen: 5432 }, ep, withOptions({ sticky: 'cookie' })));
    const { files, rejected } = await render([...services, aService({ appId: '/good' }, ep, withOptions({ sticky: 'cookie' }))], mode);
    expect(rejected.map((r) => [r.appId, r.code])).toEqual([...bad.map((_, i) => [`/bad${i}`, 'NGINX_INVALID_SERVICE']), ['/badtcp', 'NGINX_INVALID_SERVICE']]);
    expect(files.map((f) => f.appId)).toEqual(['/good']);
  });
});

test('tcp files: sticky ip hashes the stream upstream on the client address (both modes)', async () => {
  const s = aService({ appId: '/db', proxy: 'tcp', listen: 5432 }, ep, withOptions({ sticky: 'ip' }));
  for (const mode of ['off', 'lua'] as const) {
    const { files } = await render([s], mode);
    expect(files[0].content).toMatch(/upstream berth__default__db \{\n(\s+#.*\n)?\s+hash \$binary_remote_addr consistent;\n\s+server 10\.0\.0\.5:8080/);
  }
  const empty = await render([aService({ appId: '/db', proxy: 'tcp', listen: 5432 }, withOptions({ sticky: 'ip' }))], 'off');
  expect(empty.files[0].content).toMatch(/hash \$binary_remote_addr consistent;\n\s+# No serving task[^\n]*\n\s+server 127\.0\.0\.1:1 down;/);
});

test('tcp files: connect timeout and allow-list go into the stream server', async () => {
  const s = aService({ appId: '/db', proxy: 'tcp', listen: 5432 }, ep, withOptions({ connectTimeout: 3, allow: ['192.0.2.9'] }));
  const { files } = await render([s], 'off');
  expect(files[0].content).toMatch(/listen [^;]*5432;\s+allow 192\.0\.2\.9;\s+deny all;/);
  expect(files[0].content).toContain('proxy_connect_timeout 3s;');
});

/** Every combination of unset / lowest / highest value of each option (sticky: unset, cookie, ip). */
function combinations(): ProxyOptions[] {
  const many = Array.from({ length: 64 }, (_, i) => (i % 2 ? `2001:db8:${i.toString(16)}::/48` : `10.${i}.0.0/16`));
  const out: ProxyOptions[] = [];
  for (const connectTimeout of [undefined, 1, 60])
    for (const readTimeout of [undefined, 1, 3600])
      for (const bodyMax of [undefined, 1, 1024 ** 3])
        for (const allow of [undefined, ['127.0.0.1'], many])
          for (const sticky of [undefined, 'cookie', 'ip'] as const) {
            const o: ProxyOptions = {};
            if (connectTimeout !== undefined) o.connectTimeout = connectTimeout;
            if (readTimeout !== undefined) o.readTimeout = readTimeout;
            if (bodyMax !== undefined) o.bodyMax = bodyMax;
            if (allow !== undefined) o.allow = allow;
            if (sticky !== undefined) o.sticky = sticky;
            out.push(o);
          }
  return out;
}

for (const mode of ['off', 'lua'] as const) {
  describeWithTools(mode === 'lua' ? ['nginx-lua'] : ['nginx'], `nginx -t on every option combination (BERTH_NGINX_DYNAMIC=${mode})`, () => {
    it('accepts all 243 http combinations, each without TLS, with tls=on and tls=redirect, and 18 tcp ones, in one configuration', async () => {
      const certs = tmpDir('berth-options-certs-');
      makePair(certs, 't', ['x.berth.internal']);
      const combos = combinations();
      const tlsModes = [undefined, 'on', 'redirect'] as const;
      const http = combos.flatMap((o, i) =>
        tlsModes.map((tls, k) => aService({ appId: `/h${i}-${k}`, ...(tls ? { tls, hsts: 600 } : {}) }, ep, withOptions(o))),
      );
      // An empty upstream renders differently (file mode: no upstream block, a 503 location).
      http.push(aService({ appId: '/empty-cookie' }, withOptions({ sticky: 'cookie' })), aService({ appId: '/empty-ip' }, withOptions({ sticky: 'ip' })));
      const tcp = combos
        .filter((o) => o.readTimeout === undefined && o.bodyMax === undefined && o.sticky !== 'cookie')
        .map((o, i) => aService({ appId: `/t${i}`, proxy: 'tcp', listen: 20000 + i }, ep, withOptions(o)));
      const { files, rejected } = await render([...http, ...tcp], mode, tlsFor(http, certs));
      expect(rejected).toEqual([]);
      expect(files).toHaveLength(243 * 3 + 2 + 18);
      expect(files.filter((f) => f.content.includes('listen 127.0.0.1:8443 ssl'))).toHaveLength(243 * 2);
      const r = nginxT(
        mode,
        files.map((f) => ({ content: f.content, tcp: f.appId.startsWith('/t') })),
      );
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    });
  });
}
