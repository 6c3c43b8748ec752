import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { GenerationHasher } from '../../src/nginx/generation';
import { renderHttpConf } from '../../src/nginx/http-conf';
import { finalFiles, HttpContext } from '../../src/nginx/http-context';
import type { Service } from '../../src/model/types';
import { NameCensus } from '../../src/nginx/name-census';
import { hashElementSize, serverNamesHashSizes } from '../../src/nginx/names-hash';
import { listenPorts, portInUse, TcpPortCheck } from '../../src/nginx/port-check';
import { compileTemplates } from '../../src/nginx/templates';
import { renderServices } from '../../src/nginx/render';
import { aService, anEndpoint, TEMPLATES_DIR, withEndpoints } from './helpers';

const names = (n: number, len: number) =>
  Array.from({ length: n }, (_, i) => `s${String(i).padStart(5, '0')}-`.padEnd(len - '.berth.test'.length, 'x') + '.berth.test');

describe('http.conf', () => {
  it('sizes the server name hash for the names: a bucket holds several of the longest, max_size several slots per name', () => {
    const small = serverNamesHashSizes(['a.berth.test']);
    expect(small).toEqual({ bucketSize: 128, maxSize: 1024 });
    const long = names(2000, 62);
    expect(long[0]).toHaveLength(62);
    const sized = serverNamesHashSizes(long);
    // Nginx fails `nginx -t` when one name plus the bucket's end pointer does not fit a bucket.
    expect(sized.bucketSize).toBeGreaterThanOrEqual(4 * hashElementSize(long[0]) + 8);
    expect(sized.maxSize).toBeGreaterThanOrEqual(4 * 2000);
    const longest = serverNamesHashSizes([`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`]);
    expect(longest.bucketSize).toBe(2048);
    // Duplicates do not inflate the size.
    expect(serverNamesHashSizes([...long, ...long])).toEqual(sized);
  });

  it('renders the hash sizes, the upgrade map, and a loopback admin server answering the generation', () => {
    const conf = renderHttpConf({ serverNames: ['a.berth.test'], generation: 'abc123', adminListen: '127.0.0.1:8099' });
    expect(conf).toContain('server_names_hash_bucket_size 128;');
    expect(conf).toContain('server_names_hash_max_size 1024;');
    expect(conf).toMatch(/map \$http_upgrade \$connection_upgrade \{\n\s+default upgrade;\n\s+''\s+'';\n\}/);
    expect(conf).toContain('listen 127.0.0.1:8099;');
    expect(conf).toMatch(/location = \/berth\/generation \{[^}]*return 200 "abc123\\n";/);
    // No admin server: no listen at all (render only).
    expect(renderHttpConf({ serverNames: [], generation: 'abc123', adminListen: '' })).not.toContain('listen');
    expect(() => renderHttpConf({ serverNames: [], generation: 'x"; evil', adminListen: '' })).toThrow(/invalid generation/);
  });

  it('puts extras in the http context and in the admin server', () => {
    const conf = renderHttpConf({
      serverNames: [],
      generation: 'g1',
      adminListen: '127.0.0.1:8099',
      extras: { httpContext: 'lua_shared_dict berth_test 1m;', adminLocations: 'location = /berth/extra {\n    return 204;\n}' },
    });
    const server = conf.slice(conf.indexOf('server {'));
    expect(conf.slice(0, conf.indexOf('server {'))).toContain('lua_shared_dict berth_test 1m;');
    expect(server).toContain('    location = /berth/extra {\n        return 204;\n    }');
    expect(server.indexOf('/berth/extra')).toBeLessThan(server.indexOf('location / {'));
  });

  it('the shipped nginx.conf.example includes http.conf first and no longer hard-codes server name hash sizes', () => {
    const example = fs.readFileSync(path.join(TEMPLATES_DIR, 'nginx.conf.example'), 'utf8');
    expect(example).not.toMatch(/^\s*server_names_hash/m);
    const httpConf = example.indexOf('include /var/lib/berth/nginx/http[.]conf;');
    expect(httpConf).toBeGreaterThan(0);
    expect(httpConf).toBeLessThan(example.indexOf('include /var/lib/berth/nginx/*/http/*.conf;'));
  });
});

describe('generation id', () => {
  const files = (web: string) => [
    { path: 'default/http/web.conf', bytes: web },
    { path: 'default/http/api.conf', bytes: Buffer.from('api') },
  ];

  it('is the same for the same files (and after a restart), different when a byte or a path differs', () => {
    const a = new GenerationHasher().compute(files('web'), 'ctx');
    const same = new GenerationHasher();
    expect(same.compute(files('web'), 'ctx')).toBe(a);
    expect(same.compute(files('web'), 'ctx')).toBe(a);
    expect(same.compute(files('web!'), 'ctx')).not.toBe(a);
    expect(same.compute(files('web'), 'ctx2')).not.toBe(a);
    expect(same.compute([{ path: 'qa/http/web.conf', bytes: 'web' }, files('web')[1]], 'ctx')).not.toBe(a);
    expect(a).toMatch(/^[0-9a-f]{16}$/);
  });

  it('does not depend on the order of the files nor on what one hasher computed before', async () => {
    const list = (n: number, tag: string) => Array.from({ length: n }, (_, k) => ({ path: `default/http/app-${k}.conf`, bytes: `${tag}-${k}` }));
    const fresh = (files: Array<{ path: string; bytes: string }>) => new GenerationHasher().compute(files, 'ctx');
    const kept = new GenerationHasher();
    for (const files of [list(50, 'a'), list(40, 'a'), [...list(40, 'a').slice(0, 20), ...list(60, 'b').slice(20)], list(50, 'a')]) {
      expect(kept.compute(files, 'ctx')).toBe(fresh(files));
      expect(fresh([...files].reverse())).toBe(fresh(files));
    }
    // Hashing ahead in slices (the first run) gives the same id.
    const ahead = new GenerationHasher();
    await ahead.prepare(list(50, 'c'), () => new Promise((r) => setImmediate(r)), 0);
    expect(ahead.compute(list(50, 'c'), 'ctx')).toBe(fresh(list(50, 'c')));
    // A path listed twice counts once.
    expect(fresh([...list(3, 'a'), list(3, 'a')[0]])).toBe(fresh(list(3, 'a')));
  });
});

describe('server name census', () => {
  it('sizes the hash as a count of every name would, run after run', () => {
    const census = new NameCensus();
    const svc = (appId: string, domains: string[]) => aService({ appId, domains });
    const a = svc('/a', ['a.berth.test', 'shared.berth.test']);
    const b = svc('/b', ['shared.berth.test', `${'b'.repeat(100)}.berth.test`]);
    const many = Array.from({ length: 300 }, (_, k) => svc(`/m${k}`, [`m${k}.berth.test`, `m${k}.berth.test`]));
    const runs: Array<{ services: Service[]; extra: string[] }> = [
      { services: [a], extra: [] },
      { services: [a, b], extra: [] },
      { services: [a, ...many], extra: ['kept.berth.test', 'a.berth.test'] },
      { services: [b, { ...a }], extra: [] },
      { services: [{ ...b, proxy: 'tcp' as const }, a], extra: [] },
      { services: [], extra: [] },
    ];
    for (const { services, extra } of runs) {
      const names = [...services.filter((s) => s.proxy === 'http').flatMap((s) => s.domains), ...extra];
      expect(census.sizes(services, extra)).toEqual(serverNamesHashSizes(names));
    }
  });
});

describe('http.conf in the sync', () => {
  const templates = compileTemplates({
    http: fs.readFileSync(path.join(TEMPLATES_DIR, 'http.conf.hbs'), 'utf8'),
    stream: fs.readFileSync(path.join(TEMPLATES_DIR, 'stream.conf.hbs'), 'utf8'),
  });

  it('a service held back (no file) does not change it; the same service shipped does', () => {
    const ctx = new HttpContext('/nonexistent', '127.0.0.1:8099');
    const a = aService({ appId: '/a', domains: ['a.berth.test'] });
    const b = aService({ appId: '/b', domains: ['b.berth.test'] });
    const withA = renderServices([a], templates, '80');
    const both = renderServices([a, b], templates, '80');
    const only = ctx.desired([a], finalFiles(withA.files, new Set(), new Map()));
    // /b is rendered but held back (kept path without a file on disk): not part of the configuration.
    const bPath = both.files.find((f) => f.appId === '/b')!.path;
    expect(ctx.desired([a, b], finalFiles(both.files, new Set([bPath]), new Map())).content).toBe(only.content);
    const shipped = ctx.desired([a, b], finalFiles(both.files, new Set(), new Map()));
    expect(shipped.generation).not.toBe(only.generation);
    // A long name raises the bucket size (held back or not: only lengths and the count matter).
    const long = aService({ appId: '/b', domains: [`${'b'.repeat(60)}.berth.test`] });
    expect(ctx.desired([a, long], finalFiles(withA.files, new Set(), new Map())).content).toContain('server_names_hash_bucket_size 512;');
  });
});

describe('TCP port check', () => {
  const templates = compileTemplates({
    http: fs.readFileSync(path.join(TEMPLATES_DIR, 'http.conf.hbs'), 'utf8'),
    stream: fs.readFileSync(path.join(TEMPLATES_DIR, 'stream.conf.hbs'), 'utf8'),
  });
  const tcp = (appId: string, listen: number) =>
    aService({ appId, proxy: 'tcp', listen, domains: [`${appId.slice(1)}.berth.test`] }, withEndpoints(anEndpoint('10.0.0.1', 5432)));

  it('reads the listen ports of a stream file', () => {
    expect(listenPorts('server {\n    listen 127.0.0.1:5432;\n}\nserver {\n  listen 6000;\n}')).toEqual([5432, 6000]);
    expect(listenPorts(Buffer.from('    listen [::1]:7000;'))).toEqual([7000]);
  });

  it('sees a port another process holds, and a free one', async () => {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const { port } = srv.address() as net.AddressInfo;
    expect(await portInUse('127.0.0.1', port)).toBe(true);
    await new Promise((r) => srv.close(r));
    expect(await portInUse('127.0.0.1', port)).toBe(false);
  });

  it('checks only ports Nginx does not hold: new ones are probed, a taken one is a problem for that service, held ones are not probed', async () => {
    const services = [tcp('/db', 5432), tcp('/cache', 6379), aService({ appId: '/web' })];
    const rendered = renderServices(services, templates, '127.0.0.1:80');
    const probed: number[] = [];
    const check = new TcpPortCheck('127.0.0.1', async (_host, port) => (probed.push(port), port === 6379));
    // On disk (and so in the running Nginx): /db on 5432.
    const disk = new Map(rendered.files.filter((f) => f.appId === '/db').map((f) => [f.path, Buffer.from(f.content)]));
    const first = await check.check(rendered.files, services, disk);
    expect(probed).toEqual([6379]);
    expect(first.files.map((f) => f.appId).sort()).toEqual(['/db', '/web']);
    expect(first.rejected).toEqual([expect.objectContaining({ appId: '/cache', code: 'NGINX_PORT_IN_USE', path: null })]);
    expect(first.rejected[0].message).toContain('6379');
    // Retested on the next run; once free it ships, and after it was applied it is not probed again.
    probed.length = 0;
    const free = new TcpPortCheck('127.0.0.1', async (_h, port) => (probed.push(port), false));
    expect((await free.check(rendered.files, services, disk)).rejected).toEqual([]);
    free.applied(rendered.files.map((f) => ({ path: f.path, bytes: f.content })));
    probed.length = 0;
    expect((await free.check(rendered.files, services, disk)).rejected).toEqual([]);
    expect(probed).toEqual([]);
  });
});
