import fs from 'node:fs';
import path from 'node:path';
import { compileTemplates } from '../../src/nginx/templates';
import { renderServices } from '../../src/nginx/render';
import { serversInFile } from '../../src/nginx/rendered-file';
import { fileName, upstreamName } from '../../src/nginx/names';
import { isValidAddress, isValidDomain, parseListen, serviceErrors } from '../../src/nginx/validate';
import type { Service } from '../../src/model/types';
import { aService, anEndpoint, TEMPLATES_DIR, withEndpoints } from './helpers';

const templates = compileTemplates({
  http: fs.readFileSync(path.join(TEMPLATES_DIR, 'http.conf.hbs'), 'utf8'),
  stream: fs.readFileSync(path.join(TEMPLATES_DIR, 'stream.conf.hbs'), 'utf8'),
});

/** Nginx config → its shape: `depth:directive` for every directive and block, comments and values dropped. */
function structure(conf: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let expectName = true;
  const tokens = conf.replace(/#[^\n]*/g, ' ').match(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[{};]|[^\s{};"']+/g) ?? [];
  for (const t of tokens) {
    if (t === '{') {
      depth++;
      expectName = true;
    } else if (t === '}') {
      depth--;
      expectName = true;
    } else if (t === ';') expectName = true;
    else if (expectName) {
      out.push(`${depth}:${t}`);
      expectName = false;
    }
  }
  return out;
}

describe('render', () => {
  it('renders an HTTP service: upstream with every endpoint, server_name with every domain, the configured listen', () => {
    const s = aService(
      { appId: '/shop/api', domains: ['api.shop.berth.internal', 'shop-api.example.com'] },
      withEndpoints(anEndpoint('10.0.0.5', 31001), anEndpoint('fd00::5', 8080)),
    );
    const { files, rejected } = renderServices([s], templates, '127.0.0.1:8080');
    expect(rejected).toEqual([]);
    expect(files).toHaveLength(1);
    const f = files[0];
    expect(f.path).toBe('default/http/shop_0api.conf');
    expect(f.content).toMatch(/^# berth: \/shop\/api in default, servers=2;/);
    expect(f.content).toContain('upstream berth__default__shop_0api {');
    expect(f.content).toContain('server 10.0.0.5:31001 ');
    expect(f.content).toContain('server [fd00::5]:8080 ');
    expect(f.content).toContain('server_name api.shop.berth.internal shop-api.example.com;');
    expect(f.content).toContain('listen 127.0.0.1:8080;');
    expect(f.content).toContain('proxy_pass http://berth__default__shop_0api;');
    expect(serversInFile(f.content)).toBe(2);
  });

  it('renders a service without endpoints as a server answering 503, not a broken upstream', () => {
    const { files } = renderServices([aService({ appId: '/idle' })], templates, '80');
    expect(files[0].content).toContain('return 503;');
    expect(files[0].content).not.toContain('upstream');
    expect(files[0].servers).toBe(0);
  });

  it('renders a TCP service into stream/ listening on berth.listen (on the HTTP listen address when one is set)', () => {
    const s = aService({ appId: '/db', proxy: 'tcp', listen: 15432 }, withEndpoints(anEndpoint('10.0.0.7', 5432)));
    const { files } = renderServices([s], templates, '127.0.0.1:8080');
    expect(files[0].path).toBe('default/stream/db.conf');
    expect(files[0].content).toContain('listen 127.0.0.1:15432;');
    expect(files[0].content).toContain('proxy_pass berth__default__db;');
    const empty = renderServices([{ ...s, endpoints: [] }], templates, '80').files[0];
    expect(empty.content).toContain('listen 15432;');
    expect(empty.content).toContain('server 127.0.0.1:1 down;');
  });

  it('skips proxy=none, keeps services apart per environment, and rejects a second TCP listener on a port in one environment', () => {
    const { files, rejected } = renderServices(
      [
        aService({ appId: '/web', env: 'default' }),
        aService({ appId: '/web', env: 'qa-1' }),
        aService({ appId: '/hidden', proxy: 'none' }),
        aService({ appId: '/a', proxy: 'tcp', listen: 9000 }),
        aService({ appId: '/b', proxy: 'tcp', listen: 9000 }),
        aService({ appId: '/b', env: 'qa-1', proxy: 'tcp', listen: 9000 }),
      ],
      templates,
      '80',
    );
    expect(files.map((f) => f.path).sort()).toEqual(['default/http/web.conf', 'default/stream/a.conf', 'qa-1/http/web.conf', 'qa-1/stream/b.conf']);
    expect(rejected).toEqual([expect.objectContaining({ appId: '/b', code: 'NGINX_LISTEN_CONFLICT', path: 'default/stream/b.conf' })]);
  });

  it('one invalid service is rejected with its reason; the others still render', () => {
    const bad = aService({ appId: '/bad', domains: ['a.com; include /etc/passwd'] });
    const { files, rejected } = renderServices([bad, aService({ appId: '/good' })], templates, '80');
    expect(files.map((f) => f.appId)).toEqual(['/good']);
    expect(rejected[0]).toMatchObject({ appId: '/bad', code: 'NGINX_INVALID_SERVICE' });
    expect(rejected[0].message).toContain('invalid domain');
  });

  it('a template that throws rejects only that service', () => {
    const t = {
      ...templates,
      http: (ctx: { appId: string }) => {
        if (ctx.appId === '/boom') throw new Error('boom');
        return 'x';
      },
    };
    const { files, rejected } = renderServices([aService({ appId: '/boom' }), aService({ appId: '/fine' })], t as never, '80');
    expect(files.map((f) => f.appId)).toEqual(['/fine']);
    expect(rejected[0]).toMatchObject({ appId: '/boom', code: 'NGINX_RENDER_FAILED' });
  });
});

describe('names', () => {
  it('derive only [a-z0-9_] and never collide', () => {
    const ids = ['/team/web', '/team-web', '/team.web', '/teamweb', '/team/web/x', '/a/b-c', '/a-b/c', '/a/b.c', '/a.b/c'];
    const names = ids.map((id) => upstreamName('qa-1', id));
    names.forEach((n) => expect(n).toMatch(/^[a-z0-9_]+$/));
    expect(new Set(names).size).toBe(ids.length);
    expect(new Set(ids.map(fileName)).size).toBe(ids.length);
    expect(upstreamName('qa-1', '/web')).not.toBe(upstreamName('qa', '/1-web'));
  });
});

describe('validation', () => {
  it.each([
    ['a.com; include /etc/passwd', false],
    ['x'.repeat(254), false],
    ['a..b', false],
    [`${'a'.repeat(64)}.com`, false],
    ['-a.com', false],
    ['A.COM', false],
    ['api.shop.berth.internal', true],
    ['*.example.com', false], // wildcards are not served (one rule with the model and DNS: src/rules)
    [`${'a'.repeat(63)}.com`, true],
  ])('domain %j valid=%s', (d, ok) => expect(isValidDomain(d)).toBe(ok));

  it.each([
    ['10.0.0.300', false],
    ['10.0.0.1', true],
    ['fe80::1%eth0', false],
    ['::1', true],
    ['1.2.3.4; deny all', false],
    ['0x7f.1', false],
  ])('address %j valid=%s', (a, ok) => expect(isValidAddress(a)).toBe(ok));

  it('listen accepts port, addr:port and [v6]:port only', () => {
    expect(parseListen('80')).toEqual({ host: null, port: 80 });
    expect(parseListen('127.0.0.1:8080')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseListen('[::1]:8080')).toEqual({ host: '[::1]', port: 8080 });
    expect(() => parseListen('99999')).toThrow();
    expect(() => parseListen('80; include x')).toThrow();
  });

  it('rejects a TCP service without a listen port and a port out of range', () => {
    expect(serviceErrors(aService({ proxy: 'tcp', listen: null }))).toEqual([expect.stringContaining('listen')]);
    expect(serviceErrors(aService({}, withEndpoints({ ...anEndpoint('10.0.0.1', 1), port: 99999 })))).toEqual([expect.stringContaining('port')]);
  });
});

describe('no label value can inject a directive (fuzz through validate + render)', () => {
  // Deterministic PRNG so a failure is reproducible.
  let seed = 42;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const ALPHABET = 'abz09.-_:*/[]; {}#$"\'\\\n\r\t\u0000é%@,=';
  const fuzz = (len: number) => Array.from({ length: len }, () => ALPHABET[Math.floor(rand() * ALPHABET.length)]).join('');
  const crafted = [
    'a.com; include /etc/passwd',
    'a.com\nserver_name evil.com',
    'a.com}',
    'a.com{',
    'a.com#',
    '"a.com"',
    '$host',
    'a.com\u0000',
    'a.com\r\nlocation / { return 200; }',
    'a b.com',
    "a'.com",
    'a.com\\',
    '1.2.3.4; deny all',
    '::1]:80; x',
    '10.0.0.300',
    '127.0.0.1 backup',
  ];

  function shapeOf(s: Service): string[] {
    const { files } = renderServices([s], templates, '127.0.0.1:8080');
    return structure(files[0].content);
  }

  it('every value either fails validation or renders with exactly the expected directives', () => {
    const baseHttp = aService({ appId: '/svc', domains: ['a.example.com', 'b.example.com'] }, withEndpoints(anEndpoint('10.0.0.1', 80)));
    const baseTcp = { ...baseHttp, proxy: 'tcp' as const, listen: 9000 };
    const expected = { http: shapeOf(baseHttp), tcp: shapeOf(baseTcp) };
    const values = [...crafted, ...Array.from({ length: 1500 }, () => fuzz(1 + Math.floor(rand() * 12)))];
    let accepted = 0;
    for (const v of values) {
      for (const base of [baseHttp, baseTcp]) {
        const variants: Service[] = [
          { ...base, domains: [v, 'b.example.com'] },
          { ...base, endpoints: [{ ...base.endpoints[0], address: v }] },
          { ...base, endpoints: [{ ...base.endpoints[0], taskId: v }] },
          { ...base, appId: v },
          { ...base, env: v },
          { ...base, portName: v },
          { ...base, fixedIp: v },
        ];
        for (const s of variants) {
          const { files, rejected } = renderServices([s], templates, '127.0.0.1:8080');
          if (files.length === 0) {
            expect(rejected).toHaveLength(1);
            continue;
          }
          accepted++;
          expect(structure(files[0].content)).toEqual(expected[base.proxy === 'tcp' ? 'tcp' : 'http']);
        }
      }
    }
    // eslint-disable-next-line no-control-regex -- NUL is one of the injection attempts
    for (const c of crafted.filter((v) => /[\s;{}#"'$\\\u0000]/.test(v))) expect(isValidDomain(c) || isValidAddress(c)).toBe(false);
    expect(accepted).toBeGreaterThan(100); // the fuzz also exercised values that pass
  });
});
