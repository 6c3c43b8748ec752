/** Hostile strings and addresses from Marathon become per-app problems, never an exception or a stored raw value. */
import type { App } from '../../src/marathon/types';
import { recordFromApp } from '../../src/model/catalog';
import { serviceOf } from '../../src/model/endpoints';
import { PROBLEM_CODES as C } from '../../src/model/problems';
import { parseApp, safeAppKey, type SpecOptions } from '../../src/model/spec';
import type { AddressPolicy } from '../../src/rules';
import { aTask, anApp, withBridgeMappings, withContainerNetwork, withDockerParam, withDomain, withTasks } from '../support/builders';

const opts: SpecOptions = { defaultEnv: 'default' };
const HOSTILE = ['\u0000', '\ud800', '\u001b[2J', 'x'.repeat(10_000)];
const printable = /^[\x20-\x7e…]*$/;

function problemsOf(app: App, o: SpecOptions = opts) {
  const r = parseApp(app, o);
  if (r.kind !== 'invalid') throw new Error(`expected invalid, got ${r.kind}`);
  return r.problems;
}

/** Every string a value holds, joined: what would be written to the database (PostgreSQL refuses NUL). */
function stored(v: unknown): string {
  const out: string[] = [];
  JSON.stringify(v, (_k, x: unknown) => {
    if (typeof x === 'string') out.push(x);
    return x;
  });
  return out.join(' ');
}
// eslint-disable-next-line no-control-regex -- the point is to find raw control characters
const RAW = /[\u0000-\u001f\u007f-\u009f\ud800-\udfff]/;

describe('untrusted strings in labels', () => {
  test.each(HOSTILE)('a berth.domain value with %j is LABEL_INVALID_STRING, shown escaped', (bad) => {
    const [p] = problemsOf(anApp({ id: '/a' }, withDomain(`a${bad}.example.com`)));
    expect(p).toMatchObject({ code: C.LABEL_INVALID_STRING, appId: '/a' });
    expect(p.message).toMatch(printable);
    expect(stored(p)).not.toMatch(RAW);
    expect(p.message.length).toBeLessThan(400);
  });

  test.each(['berth.env', 'berth.port', 'berth.ip', 'berth.proxy', 'berth.listen', 'berth.dns'])('the same for %s', (label) => {
    const problems = problemsOf(anApp({ id: '/a' }, withDomain('a.example.com', { [label]: 'x\u0000y' })));
    expect(problems.map((p) => p.code)).toContain(C.LABEL_INVALID_STRING);
    expect(problems.every((p) => printable.test(p.message))).toBe(true);
  });

  test("a berth label key with NUL is reported; other apps' labels are not berth's business", () => {
    const problems = problemsOf(anApp({ id: '/a' }, withDomain('a.example.com', { 'berth.\u0000x': 'v' })));
    expect(problems).toEqual([expect.objectContaining({ code: C.LABEL_INVALID_STRING, details: expect.objectContaining({ label: 'berth.\\u0000x' }) })]);
    expect(parseApp(anApp({ id: '/a' }, withDomain('a.example.com', { 'other\u0000': '\ud800' })), opts).kind).toBe('spec');
  });
});

describe('untrusted app ids', () => {
  test.each([...HOSTILE.map((s) => `/team/${s}`), '/Team/Upper', 'relative', '/a//b'])('%j is APP_ID_INVALID under a safe, stable key', (id) => {
    const [p] = problemsOf(anApp({ id }, withDomain('a.example.com')));
    expect(p.code).toBe(C.APP_ID_INVALID);
    expect(p.appId).toBe(safeAppKey(id));
    expect(p.appId).toMatch(/^invalid:[\x20-\x7e…]+#[0-9a-f]{14}$/);
    expect(p.appId.length).toBeLessThan(200);
    expect(stored(p)).not.toMatch(RAW);
  });

  test('two different unusable ids that share a long prefix get different keys', () => {
    const a = `/${'x'.repeat(300)}\u0000a`;
    const b = `/${'x'.repeat(300)}\u0000b`;
    expect(safeAppKey(a)).not.toBe(safeAppKey(b));
  });
});

describe('untrusted task fields', () => {
  test('a task with a hostile id is not tracked; hostile hosts and states are not kept', () => {
    const app = anApp(
      { id: '/a' },
      withDomain('a.example.com'),
      withTasks(aTask({ id: 'a.\u0000' }), aTask({ host: 'h\u0000' }), aTask({ host: '10.0.0.2', state: 'TASK_\u001b' as 'TASK_RUNNING' })),
    );
    const r = recordFromApp(app, undefined, opts, 1);
    expect(r.tasks.size).toBe(2);
    for (const t of r.tasks.values()) expect(stored(t)).not.toMatch(RAW);
  });
});

describe('address policy', () => {
  const policy: AddressPolicy = {
    allow: [],
    deny: ['10.66.0.0/16'],
    self: [
      { host: '10.0.0.9', port: 8080, what: 'API' },
      { host: '10.0.0.9', port: 5432, what: 'database' },
    ],
  };
  const withPolicy: SpecOptions = { ...opts, addresses: policy };

  test.each(['127.0.0.1', '::1', '::ffff:127.0.0.1', '0.0.0.0', '169.254.169.254', 'fe80::1', '224.0.0.1', '10.66.1.1'])(
    'berth.ip=%s is FIXED_IP_REFUSED naming the address',
    (ip) => {
      const problems = problemsOf(anApp({ id: '/a' }, withDomain('a.example.com', { 'berth.ip': ip })), withPolicy);
      expect(problems).toEqual([expect.objectContaining({ code: C.FIXED_IP_REFUSED })]);
      expect(problems[0].details).toMatchObject({ ip: expect.any(String) });
      expect(problems[0].message).toContain(String(problems[0].details?.ip));
    },
  );

  test('the Docker ip parameter is held to the same rule', () => {
    const problems = problemsOf(anApp({ id: '/a' }, withDomain('a.example.com'), withDockerParam('ip', '127.0.0.1')), withPolicy);
    expect(problems.map((p) => p.code)).toEqual([C.FIXED_IP_REFUSED]);
  });

  test("a fixed IP and port equal to berth's own database is ENDPOINT_SELF", () => {
    const problems = problemsOf(
      anApp({ id: '/pg' }, withDomain('pg.example.com', { 'berth.ip': '10.0.0.9', 'berth.proxy': 'tcp', 'berth.listen': '15432', 'berth.port': '5432' })),
      withPolicy,
    );
    expect(problems).toEqual([expect.objectContaining({ code: C.ENDPOINT_SELF, details: { endpoint: '10.0.0.9:5432', socket: 'database' } })]);
  });

  test("a container task address equal to berth's API is ENDPOINT_SELF, and it is never an endpoint", () => {
    const app = anApp(
      { id: '/c' },
      withDomain('c.example.com'),
      withContainerNetwork('overlay', { containerPort: 8080, name: 'http' }),
      withTasks(aTask({ ipAddresses: [{ ipAddress: '10.0.0.9', protocol: 'IPv4' }] }), aTask({ ipAddresses: [{ ipAddress: '10.0.0.10', protocol: 'IPv4' }] })),
    );
    expect(problemsOf(app, withPolicy).map((p) => p.code)).toEqual([C.ENDPOINT_SELF]);
    const spec = parseApp(app, opts);
    if (spec.kind !== 'spec') throw new Error('spec expected');
    const rec = recordFromApp(app, undefined, opts, 1);
    const svc = serviceOf(spec.spec, rec.tasks.values(), () => undefined, { addresses: policy });
    expect(svc.endpoints.map((e) => e.address)).toEqual(['10.0.0.10']);
  });

  test("a host-networked task on berth's API host and port is ENDPOINT_SELF", () => {
    const app = anApp({ id: '/h' }, withDomain('h.example.com'), withTasks(aTask({ host: '10.0.0.9', ports: [8080] })));
    expect(problemsOf(app, withPolicy).map((p) => p.code)).toEqual([C.ENDPOINT_SELF]);
    expect(parseApp(anApp({ id: '/h' }, withDomain('h.example.com'), withTasks(aTask({ host: '10.0.0.9', ports: [8081] }))), withPolicy).kind).toBe('spec');
  });

  test('without a policy (library use) addresses are not judged', () => {
    expect(parseApp(anApp({ id: '/a' }, withDomain('a.example.com', { 'berth.ip': '127.0.0.1' }), withBridgeMappings({ containerPort: 80 })), opts).kind).toBe(
      'spec',
    );
  });
});

describe('fixed IPs inside a managed pool', () => {
  const holder = (ip: string) =>
    ip.startsWith('10.20.') ? { pool: 'p1', holder: ip === '10.20.0.7' ? '/owner' : ip === '10.20.0.8' ? null : '/someone' } : undefined;
  const o: SpecOptions = { ...opts, poolHolder: holder };
  const app = (id: string, ip: string) => anApp({ id }, withDomain(`${id.slice(1)}.example.com`, { 'berth.ip': ip }));

  test('allocated to this app: published; outside every pool: published', () => {
    expect(parseApp(app('/owner', '10.20.0.7'), o).kind).toBe('spec');
    expect(parseApp(app('/other', '10.30.0.1'), o).kind).toBe('spec');
  });
  test('allocated to another app: IP_ALLOCATED_TO_OTHER naming address and holder', () => {
    expect(problemsOf(app('/thief', '10.20.0.7'), o)).toEqual([
      expect.objectContaining({ code: C.IP_ALLOCATED_TO_OTHER, details: expect.objectContaining({ ip: '10.20.0.7', holder: '/owner', pool: 'p1' }) }),
    ]);
  });
  test('not allocated at all: IP_NOT_ALLOCATED', () => {
    expect(problemsOf(app('/x', '10.20.0.8'), o)).toEqual([
      expect.objectContaining({ code: C.IP_NOT_ALLOCATED, details: expect.objectContaining({ ip: '10.20.0.8' }) }),
    ]);
  });
});
