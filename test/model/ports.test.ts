/**
 * Several ports per app (docs/labels.md "Several ports"): per-port labels publish each port as its
 * own service; every invalid or hostile value is a per-app problem naming the label.
 */
import { recordFromApp } from '../../src/model/catalog';
import { resolveConflicts } from '../../src/model/conflicts';
import { serviceOf } from '../../src/model/endpoints';
import { PROBLEM_CODES as C } from '../../src/model/problems';
import { serviceKey } from '../../src/model/service-key';
import { parseApp, type ServiceSpec, type SpecResult } from '../../src/model/spec';
import type { App } from '../../src/marathon/types';
import { fileName, servicePath, serviceUpstreamName, upstreamName } from '../../src/nginx/names';
import { MAX_PUBLISHED_PORTS } from '../../src/rules';
import { anApp, aTask } from '../support/builders';

const opts = { defaultEnv: 'default' };

/** Host-networked app with three declared ports: web 8080, admin 9090, metrics 9100. */
const threePorts = (labels: Record<string, unknown>, extra: Partial<App> = {}): App =>
  anApp({
    id: '/shop/api',
    portDefinitions: [
      { port: 8080, name: 'web' },
      { port: 9090, name: 'admin' },
      { port: 9100, name: 'metrics' },
    ],
    labels: labels as Record<string, string>,
    ...extra,
  });

const specsOf = (r: SpecResult): ServiceSpec[] => (r.kind === 'spec' ? r.specs : []);
const problemsOf = (r: SpecResult) => (r.kind === 'invalid' ? r.problems : []);
const codes = (r: SpecResult): string[] =>
  problemsOf(r)
    .map((p) => p.code)
    .sort();

describe('per-port labels: parsing', () => {
  test('berth.domain plus a per-port domain: the main service and one service for the named port', () => {
    const r = parseApp(threePorts({ 'berth.domain': 'api.shop.example', 'berth.port.admin.domain': 'admin.shop.example' }), opts);
    const specs = specsOf(r);
    expect(specs.map((s) => [s.port, s.domains, s.servicePort, s.portIndex, s.portName])).toEqual([
      [undefined, ['api.shop.example'], 8080, 0, 'web'],
      ['admin', ['admin.shop.example'], 9090, 1, 'admin'],
    ]);
    // The main service is exactly what it was before per-port labels existed (no `port` key at all).
    expect('port' in specs[0]).toBe(false);
  });

  test('a port is named by its 0-based index too; only per-port labels, no berth.domain, is enough', () => {
    const r = parseApp(
      threePorts({ 'berth.port.2.domain': 'metrics.shop.example', 'berth.port.2.proxy': 'tcp', 'berth.port.2.listen': '19100', 'berth.port.2.dns': 'proxy' }),
      opts,
    );
    expect(specsOf(r)).toEqual([
      expect.objectContaining({ port: '2', proxy: 'tcp', listen: 19100, dns: 'proxy', servicePort: 9100, portIndex: 2, portName: 'metrics' }),
    ]);
  });

  test('berth.env and berth.ip apply to every port; berth.proxy/.listen/.dns only to the main service', () => {
    const r = parseApp(
      threePorts({
        'berth.domain': 'api.shop.example',
        'berth.proxy': 'tcp',
        'berth.listen': '15000',
        'berth.env': 'qa',
        'berth.port.web.domain': 'other.shop.example',
      }),
      opts,
    );
    // berth.port defaults to the first port (web): publishing web again through per-port labels is refused.
    expect(codes(r)).toEqual([C.PORT_PUBLISHED_TWICE]);
    const ok = parseApp(
      threePorts({
        'berth.domain': 'api.shop.example',
        'berth.proxy': 'tcp',
        'berth.listen': '15000',
        'berth.env': 'qa',
        'berth.port.admin.domain': 'a.shop.example',
      }),
      opts,
    );
    expect(specsOf(ok).map((s) => [s.env, s.proxy, s.listen])).toEqual([
      ['qa', 'tcp', 15000],
      ['qa', 'http', null],
    ]);
  });

  test('the main service is unchanged by per-port labels for other ports (same spec as without them)', () => {
    const alone = specsOf(parseApp(threePorts({ 'berth.domain': 'api.shop.example', 'berth.port': 'admin' }), opts));
    const withPorts = specsOf(
      parseApp(threePorts({ 'berth.domain': 'api.shop.example', 'berth.port': 'admin', 'berth.port.web.domain': 'w.shop.example' }), opts),
    );
    expect(withPorts[0]).toEqual(alone[0]);
  });
});

describe('per-port labels: validation', () => {
  test.each([
    ['an unknown port name', { 'berth.port.nope.domain': 'x.example' }, C.PORT_NOT_FOUND, 'berth.port.nope.domain'],
    ['an index past the declared ports', { 'berth.port.3.domain': 'x.example' }, C.PORT_NOT_FOUND, 'berth.port.3.domain'],
    ['an index with a leading zero', { 'berth.port.01.domain': 'x.example' }, C.LABEL_PORT_INVALID, 'berth.port.01.domain'],
    ['a port part that is neither name nor index', { 'berth.port.a_b.domain': 'x.example' }, C.LABEL_PORT_INVALID, 'berth.port.a_b.domain'],
    [
      'a per-port setting without its domain',
      { 'berth.port.admin.proxy': 'tcp', 'berth.port.admin.listen': '1' },
      C.LABEL_DOMAIN_INVALID,
      'berth.port.admin.domain',
    ],
    ['tcp without listen', { 'berth.port.admin.domain': 'x.example', 'berth.port.admin.proxy': 'tcp' }, C.LABEL_LISTEN_REQUIRED, 'berth.port.admin.listen'],
    [
      'a bad listen port',
      { 'berth.port.admin.domain': 'x.example', 'berth.port.admin.proxy': 'tcp', 'berth.port.admin.listen': '70000' },
      C.LABEL_LISTEN_INVALID,
      'berth.port.admin.listen',
    ],
    ['a bad proxy mode', { 'berth.port.admin.domain': 'x.example', 'berth.port.admin.proxy': 'udp' }, C.LABEL_PROXY_INVALID, 'berth.port.admin.proxy'],
    ['a bad dns mode', { 'berth.port.admin.domain': 'x.example', 'berth.port.admin.dns': 'maybe' }, C.LABEL_DNS_INVALID, 'berth.port.admin.dns'],
    ['a directive in the domain', { 'berth.port.admin.domain': 'a.example; include /etc/passwd' }, C.LABEL_DOMAIN_INVALID, 'berth.port.admin.domain'],
  ])('%s is a problem naming the label', (_d, labels, code, label) => {
    const r = parseApp(threePorts(labels), opts);
    expect(r.kind).toBe('invalid');
    const p = problemsOf(r).find((x) => x.code === code);
    expect(p?.details?.label).toBe(label);
    expect(p?.message).toContain(label);
  });

  test('one port published by a name and by its index is refused (PORT_PUBLISHED_TWICE)', () => {
    const r = parseApp(threePorts({ 'berth.port.admin.domain': 'a.example', 'berth.port.1.domain': 'b.example' }), opts);
    expect(codes(r)).toEqual([C.PORT_PUBLISHED_TWICE]);
  });

  test('a port published by berth.domain (+ berth.port) and by per-port labels is refused', () => {
    const r = parseApp(threePorts({ 'berth.domain': 'a.example', 'berth.port': '9090', 'berth.port.admin.domain': 'b.example' }), opts);
    expect(codes(r)).toEqual([C.PORT_PUBLISHED_TWICE]);
    expect(problemsOf(r)[0].message).toContain('berth.domain');
  });

  test('two ports of one app claiming one domain, or one tcp listen port, are refused (PORT_CLAIM_DUPLICATE)', () => {
    const dupDomain = parseApp(threePorts({ 'berth.domain': 'a.example,b.example', 'berth.port.admin.domain': 'B.example.' }), opts);
    expect(codes(dupDomain)).toEqual([C.PORT_CLAIM_DUPLICATE]);
    expect(problemsOf(dupDomain)[0].message).toContain('b.example');
    const dupListen = parseApp(
      threePorts({
        'berth.port.admin.domain': 'a.example',
        'berth.port.admin.proxy': 'tcp',
        'berth.port.admin.listen': '7000',
        'berth.port.metrics.domain': 'm.example',
        'berth.port.metrics.proxy': 'tcp',
        'berth.port.metrics.listen': '7000',
      }),
      opts,
    );
    expect(codes(dupListen)).toEqual([C.PORT_CLAIM_DUPLICATE]);
  });

  test('a domain in another app: the older app keeps it, the newer one is skipped whole (DOMAIN_CONFLICT)', () => {
    const older = recordFromApp(threePorts({ 'berth.domain': 'a.example' }), undefined, opts, 1);
    const newer = recordFromApp(
      anApp({
        id: '/other',
        portDefinitions: [{ port: 1 }, { port: 2, name: 'x' }],
        labels: { 'berth.domain': 'o.example', 'berth.port.x.domain': 'a.example' },
      }),
      undefined,
      opts,
      2,
    );
    const res = resolveConflicts([older, newer]);
    expect([...res.winners]).toEqual(['/shop/api']);
    expect(res.problems.map((p) => [p.appId, p.code])).toEqual([['/other', C.DOMAIN_CONFLICT]]);
  });
});

describe('per-port labels: hostile values', () => {
  test('a huge port part, a NUL in the port part or value: problems with escaped text, never a spec', () => {
    const huge = `berth.port.${'a'.repeat(5000)}.domain`;
    const r1 = parseApp(threePorts({ [huge]: 'x.example' }), opts);
    expect(r1.kind).toBe('invalid');
    for (const p of problemsOf(r1)) expect(JSON.stringify(p).length).toBeLessThan(2000);
    const r2 = parseApp(threePorts({ 'berth.port.ad\u0000min.domain': 'x.example' }), opts);
    expect(codes(r2)).toContain(C.LABEL_INVALID_STRING);
    for (const p of problemsOf(r2)) expect(JSON.stringify(p)).not.toContain('\u0000');
    const r3 = parseApp(threePorts({ 'berth.port.admin.domain': 'x.example\u0000' }), opts);
    expect(codes(r3)).toEqual([C.LABEL_INVALID_STRING]);
    expect(JSON.stringify(problemsOf(r3))).not.toContain('\u0000');
  });

  test(`more than ${MAX_PUBLISHED_PORTS} per-port groups is one problem, not thousands of services`, () => {
    const labels: Record<string, string> = {};
    for (let i = 0; i < 5000; i++) labels[`berth.port.p${i}.domain`] = `p${i}.example`;
    const r = parseApp(threePorts(labels), opts);
    expect(codes(r)).toEqual([C.PORT_LABELS_TOO_MANY]);
  });

  test('a per-port label that is not a string is treated as a dirty value', () => {
    const r = parseApp(threePorts({ 'berth.port.admin.domain': 42 }), opts);
    expect(codes(r)).toEqual([C.LABEL_INVALID_STRING]);
  });
});

describe('per-port services: identity and endpoints', () => {
  test('each port reaches the task on its own host port (host networking) or container port (own address)', () => {
    const hostApp = threePorts(
      { 'berth.domain': 'api.example', 'berth.port.metrics.domain': 'm.example' },
      { tasks: [aTask({ id: '?.t1', host: '10.0.0.5', ports: [31001, 31002, 31003], state: 'TASK_RUNNING' })] },
    );
    const rec = recordFromApp(hostApp, undefined, opts, 1);
    const services = rec.specs!.map((s) => serviceOf(s, rec.tasks.values(), () => undefined));
    expect(services.map((s) => [s.port, s.endpoints.map((e) => `${e.address}:${e.port}`)])).toEqual([
      [undefined, ['10.0.0.5:31001']],
      ['metrics', ['10.0.0.5:31003']],
    ]);
    const own = anApp({
      id: '/own',
      container: {
        type: 'DOCKER',
        portMappings: [
          { containerPort: 80, name: 'http' },
          { containerPort: 9000, name: 'grpc' },
        ],
      },
      networks: [{ mode: 'container', name: 'overlay' }],
      labels: { 'berth.port.grpc.domain': 'g.example' },
      tasks: [aTask({ id: '?.t1', host: 'agent-1', ipAddresses: [{ ipAddress: '172.16.0.9', protocol: 'IPv4' }], state: 'TASK_RUNNING' })],
    });
    const r2 = recordFromApp(own, undefined, opts, 1);
    expect(serviceOf(r2.specs![0], r2.tasks.values(), () => undefined).endpoints.map((e) => `${e.address}:${e.port}`)).toEqual(['172.16.0.9:9000']);
  });

  test('service keys, Nginx file names and upstreams are distinct per port and the main ones unchanged', () => {
    const specs = specsOf(
      parseApp(threePorts({ 'berth.domain': 'a.example', 'berth.port.admin.domain': 'b.example', 'berth.port.2.domain': 'c.example' }), opts),
    );
    expect(specs.map(serviceKey)).toEqual(['/shop/api', '/shop/api#2', '/shop/api#admin']);
    const paths = specs.map((s) => servicePath(s, 'http'));
    expect(paths).toEqual(['default/http/shop_0api.conf', 'default/http/shop_0api_42.conf', 'default/http/shop_0api_4admin.conf']);
    expect(paths[0]).toBe(`default/http/${fileName('/shop/api')}`);
    expect(serviceUpstreamName(specs[0])).toBe(upstreamName('default', '/shop/api'));
    expect(new Set(specs.map(serviceUpstreamName)).size).toBe(3);
    for (const n of [...paths, ...specs.map(serviceUpstreamName)]) expect(n).toMatch(/^[a-z0-9_/.]+$/);
    // Capitals in a port name stay distinct from lowercase ones, in lowercase-only names.
    expect(servicePath({ env: 'e', appId: '/a', port: 'Admin' }, 'http')).not.toBe(servicePath({ env: 'e', appId: '/a', port: 'admin' }, 'http'));
    // A long app id with a long port name: still a valid file name, distinct per port.
    const longId = `/${'a'.repeat(250)}`;
    const a = servicePath({ env: 'e', appId: longId, port: 'x'.repeat(62) }, 'http');
    const b = servicePath({ env: 'e', appId: longId, port: `${'x'.repeat(61)}y` }, 'http');
    expect(a).not.toBe(b);
    expect(a.split('/').pop()!.length).toBeLessThan(230);
  });
});
