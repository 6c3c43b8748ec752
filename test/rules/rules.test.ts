/**
 * Every rule is imported from src/rules, the one place it is defined; the model, Nginx, DNS, IPAM and
 * the configuration are checked to give the same answer for the same value.
 */
import {
  APP_ID_MAX_LENGTH,
  checkAppId,
  checkDomain,
  checkEnv,
  checkIp,
  checkPortName,
  checkPortText,
  checkUntrusted,
  display,
  fixedIpRefusal,
  isAppId,
  isEnv,
  isPort,
  isPortName,
  refusedClass,
  reservedReason,
  selfSocket,
  ENV_NAME_PATTERN,
  type AddressPolicy,
} from '../../src/rules';
import { isValidAppId, isValidDomain, isValidEnv, isValidPort } from '../../src/nginx/validate';
import { fileName, upstreamName } from '../../src/nginx/names';
import { checkAppId as ipamCheckAppId } from '../../src/ipam/validate';
import { envName, zoneName } from '../../src/config/parsers';
import { parseApp } from '../../src/model/spec';
import { PROBLEM_CODES as C } from '../../src/model/problems';
import { serviceRecords } from '../../src/dns/records';
import type { Service } from '../../src/model/types';
import { anApp, withDomain } from '../support/builders';

const segment = (n: number): string => 'a'.repeat(n);
/** An id of exactly `n` characters made of 60-character segments. */
function idOfLength(n: number): string {
  let id = '';
  while (id.length < n) id += `/${segment(Math.min(60, n - id.length - 1) || 1)}`;
  return id.slice(0, n);
}

describe('app id', () => {
  test.each([
    ['/team/web', true],
    ['/team/web.v2/api-1', true],
    ['team/web', false],
    ['/Team/web', false],
    ['/team//web', false],
    ['/team/-web', false],
    ['/team/web-', false],
    ['/team/a..b', false],
    ['/team/web;rm', false],
    [idOfLength(APP_ID_MAX_LENGTH), true],
    [idOfLength(APP_ID_MAX_LENGTH + 1), false],
    [`/${segment(64)}`, false],
  ])('%j valid=%s in the model, Nginx and IPAM alike', (id, ok) => {
    expect(checkAppId(id).ok).toBe(ok);
    expect(isAppId(id)).toBe(ok);
    expect(isValidAppId(id)).toBe(ok);
    const spec = parseApp(anApp({ id }, withDomain('a.example.com')), { defaultEnv: 'default' });
    expect(spec.kind === 'spec').toBe(ok);
    if (ok) expect(ipamCheckAppId(id)).toBe(id);
    else expect(() => ipamCheckAppId(id)).toThrow(expect.objectContaining({ code: 'INVALID_APP_ID' }));
  });
});

describe('domain', () => {
  test.each([
    ['api.shop.example.com', true],
    ['API.Shop.example.com.', true],
    ['*.example.com', false],
    ['a_b.example.com', false],
    ['a.b.10', false],
    [`${segment(63)}.com`, true],
    [`${segment(64)}.com`, false],
    [[segment(63), segment(63), segment(63), segment(61)].join('.'), true],
    [[segment(63), segment(63), segment(63), segment(62)].join('.'), false],
    ['', false],
    ['a..b', false],
  ])('%j valid=%s', (d, ok) => {
    expect(checkDomain(d).ok).toBe(ok);
    if (ok) expect(isValidDomain(checkDomain(d).ok ? (checkDomain(d) as { value: string }).value : d)).toBe(true);
    else expect(isValidDomain(d)).toBe(false);
  });

  test('the DNS index skips exactly what Nginx refuses', () => {
    const svc = (domains: string[]): Service => ({
      env: 'default',
      appId: '/a',
      domains,
      proxy: 'http',
      listen: null,
      dns: 'direct',
      portName: null,
      servicePort: 80,
      fixedIp: null,
      endpoints: [{ taskId: 't1', address: '10.0.0.1', port: 80, host: '' }],
      version: '',
    });
    const r = serviceRecords(svc(['*.x.example.com', 'ok.example.com']), {
      zoneOf: (n) => (n.endsWith('example.com') ? 'example.com' : null),
      environments: {},
    });
    expect([...r.names.keys()].filter((n) => !n.startsWith('_') && !n.startsWith('t-'))).toEqual(['ok.example.com']);
    expect(isValidDomain('*.x.example.com')).toBe(false);
  });
});

describe('environment name', () => {
  test.each([
    ['func-a', true],
    ['a'.repeat(32), true],
    ['a'.repeat(33), false],
    ['Func', false],
    ['a_b', false],
    ['', false],
  ])('%j valid=%s', (e, ok) => {
    expect(checkEnv(e).ok).toBe(ok);
    expect(isEnv(e)).toBe(ok);
    expect(isValidEnv(e)).toBe(ok);
    expect(new RegExp(ENV_NAME_PATTERN).test(e)).toBe(ok);
    if (ok) expect(envName(e)).toBe(e);
    else expect(() => envName(e)).toThrow();
  });

  test('DNS zones follow the domain rule', () => {
    expect(zoneName('Berth.Internal.')).toBe('berth.internal');
    expect(() => zoneName('*.berth.internal')).toThrow();
  });
});

describe('ports and port names', () => {
  test.each([
    ['1', 1],
    ['65535', 65535],
    [' 80 ', 80],
  ])('port %j', (raw, n) => expect(checkPortText(raw)).toEqual({ ok: true, value: n }));
  test.each(['0', '65536', '-1', '8o', '1e3', ''])('port %j is refused', (raw) => expect(checkPortText(raw).ok).toBe(false));
  test('numbers', () => {
    expect([0, 1, 65535, 65536, 1.5, NaN].map((n) => isPort(n) && isValidPort(n))).toEqual([false, true, true, false, false, false]);
  });
  test('a port name is short enough that _<name> is a DNS label', () => {
    expect(checkPortName('a'.repeat(62)).ok).toBe(true);
    expect(checkPortName('a'.repeat(63)).ok).toBe(false);
    expect(isPortName('http_alt')).toBe(false);
  });
});

describe('untrusted strings', () => {
  test.each([
    ['a\u0000b', 'nul'],
    ['a\ud800b', 'lone-surrogate'],
    ['a\udc00', 'lone-surrogate'],
    ['\u001b[31m', 'control-character'],
    ['a\u0085', 'control-character'],
    ['x'.repeat(4097), 'too-long'],
    [42, 'not-a-string'],
    ['', 'empty'],
  ])('%j is refused: %s', (raw, reason) => {
    const c = checkUntrusted(raw, 'labelValue');
    expect(c).toMatchObject({ ok: false, reason });
  });

  test('a valid surrogate pair and ordinary Unicode are accepted', () => {
    expect(checkUntrusted('caf\u00e9 \ud83d\ude00', 'labelValue')).toEqual({ ok: true, value: 'caf\u00e9 \ud83d\ude00' });
  });

  test('display escapes to printable ASCII and truncates', () => {
    expect(display('a\u0000\ud800"\\')).toBe('a\\u0000\\ud800\\"\\\\');
    const long = display('y'.repeat(10_000));
    expect(long).toHaveLength(121);
    expect(long.endsWith('…')).toBe(true);
    expect(Buffer.from(display('\u0000\u001b\ud800é'), 'utf8').toString('utf8')).toMatch(/^[\x20-\x7e]+$/);
  });
});

describe('addresses', () => {
  test.each([
    ['127.0.0.1', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'multicast'],
    ['10.0.0.1', null],
    ['2001:db8::1', null],
  ])('%s is %s', (ip, cls) => expect(refusedClass(checkIp(ip).ok ? (checkIp(ip) as { value: string }).value : ip)).toBe(cls));

  const policy = (p: Partial<AddressPolicy>): AddressPolicy => ({ allow: [], deny: [], self: [], ...p });
  test('allow narrows and lets a listed loopback range through; deny refuses; unspecified never', () => {
    expect(fixedIpRefusal('127.77.0.9', policy({}))?.reason).toContain('loopback');
    expect(fixedIpRefusal('127.77.0.9', policy({ allow: ['127.77.0.0/24'] }))).toBeNull();
    expect(fixedIpRefusal('10.0.0.1', policy({ allow: ['127.77.0.0/24'] }))?.reason).toContain('outside the allowed ranges');
    expect(fixedIpRefusal('10.9.0.1', policy({ deny: ['10.9.0.0/16'] }))?.reason).toContain('denied range 10.9.0.0/16');
    expect(fixedIpRefusal('0.0.0.0', policy({ allow: ['0.0.0.0/0'] }))?.reason).toContain('unspecified');
  });

  test('self sockets match by normalised address and port', () => {
    const p = policy({
      self: [
        { host: '127.0.0.1', port: 8080, what: 'API' },
        { host: '2001:db8::5', port: 5432, what: 'database' },
      ],
    });
    expect(selfSocket('127.0.0.1', 8080, p)?.what).toBe('API');
    expect(selfSocket('::ffff:127.0.0.1', 8080, p)?.what).toBe('API');
    expect(selfSocket('2001:db8:0:0::5', 5432, p)?.what).toBe('database');
    expect(selfSocket('127.0.0.1', 8081, p)).toBeNull();
  });
});

describe('reserved names', () => {
  const r = { zones: ['berth.internal'] };
  test.each([
    ['berth.internal', true],
    ['ns.berth.internal', true],
    ['hostmaster.berth.internal', true],
    ['t-0123abcd.web.berth.internal', true],
    ['1.0.0.10.in-addr.arpa', true],
    ['web.berth.internal', false],
    ['ns.web.berth.internal', false],
    ['t-web.berth.internal', false],
  ])('%s reserved=%s', (d, yes) => expect(reservedReason(d, r) !== null).toBe(yes));

  test('the model refuses a reserved name with DOMAIN_RESERVED', () => {
    const p = parseApp(anApp({ id: '/x' }, withDomain('ns.berth.internal')), { defaultEnv: 'default', reserved: r });
    expect(p).toMatchObject({ kind: 'invalid', problems: [expect.objectContaining({ code: C.DOMAIN_RESERVED })] });
  });
});

describe('Nginx names for the longest app ids', () => {
  test('every valid id gets a file name that fits with its temp-file suffix, and distinct ids stay distinct', () => {
    const worst = (tail: string) => `/${'a-'.repeat(31)}b/${'c-'.repeat(31)}d/${'e-'.repeat(31)}f/${'g-'.repeat(30)}${tail}`.slice(0, APP_ID_MAX_LENGTH);
    const a = worst('h');
    const b = worst('i').replace(/.$/, 'j');
    expect(isAppId(a)).toBe(true);
    expect(fileName(a).length + 22).toBeLessThanOrEqual(255);
    expect(fileName(a)).not.toBe(fileName(b));
    expect(upstreamName('default', a)).not.toBe(upstreamName('default', b));
    // Short ids keep the names they always had.
    expect(fileName('/team/web-1')).toBe('team_0web_11.conf');
  });
});
