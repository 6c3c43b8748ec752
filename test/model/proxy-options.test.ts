import { parseApp, type SpecResult } from '../../src/model/spec';
import { PROBLEM_CODES as C } from '../../src/model/problems';
import { serviceWith } from '../../src/model/endpoints';
import { sameService } from '../../src/model/diff';
import { anApp, withDomain, withLabels, withPortDefinitions } from '../support/builders';
import { checkBodySize, checkCidrList, checkSeconds, isLabelDenied } from '../../src/rules';
import { loadConfig } from '../../src/config/load';

const opts = { defaultEnv: 'default' };

function codes(r: SpecResult): string[] {
  return r.kind === 'invalid' ? r.problems.map((p) => p.code).sort() : [];
}

function web(labels: Record<string, string>, o: Parameters<typeof parseApp>[1] = opts): SpecResult {
  return parseApp(anApp({ id: '/web' }, withDomain('web.example.com', labels)), o);
}

describe('proxy option labels', () => {
  test('valid values are normalised into the spec and carried into the service', () => {
    const r = web({
      'berth.timeout.connect': '3',
      'berth.timeout.read': '3600',
      'berth.body.max': '10m',
      'berth.allow': ' 10.0.0.0/8, 2001:DB8::/32 ,192.0.2.7,10.0.0.0/8',
    });
    expect(r.kind).toBe('spec');
    if (r.kind !== 'spec') return;
    expect(r.spec.options).toEqual({ connectTimeout: 3, readTimeout: 3600, bodyMax: 10 * 1024 * 1024, allow: ['10.0.0.0/8', '2001:db8::/32', '192.0.2.7'] });
    expect(serviceWith(r.spec, []).options).toEqual(r.spec.options);
  });

  test('a change of options alone is a change of the service (the registry writes it, Nginx re-renders)', () => {
    const a = web({ 'berth.allow': '10.0.0.0/8' });
    const b = web({ 'berth.allow': '10.0.0.0/16' });
    if (a.kind !== 'spec' || b.kind !== 'spec') throw new Error('expected specs');
    expect(sameService(serviceWith(a.spec, []), serviceWith(a.spec, []))).toBe(true);
    expect(sameService(serviceWith(a.spec, []), serviceWith(b.spec, []))).toBe(false);
  });

  test('an app without option labels has no options field (its files stay as they were)', () => {
    const r = web({});
    expect(r.kind === 'spec' && 'options' in r.spec).toBe(false);
    expect(r.kind === 'spec' && 'options' in serviceWith(r.spec, [])).toBe(false);
  });

  test.each([
    ['berth.timeout.connect', '0', C.LABEL_TIMEOUT_INVALID],
    ['berth.timeout.connect', '61', C.LABEL_TIMEOUT_INVALID],
    ['berth.timeout.connect', '-5', C.LABEL_TIMEOUT_INVALID],
    ['berth.timeout.connect', '5s', C.LABEL_TIMEOUT_INVALID],
    ['berth.timeout.connect', '05', C.LABEL_TIMEOUT_INVALID],
    ['berth.timeout.connect', '1.5', C.LABEL_TIMEOUT_INVALID],
    ['berth.timeout.read', '3601', C.LABEL_TIMEOUT_INVALID],
    ['berth.timeout.read', '99999999999999999999999', C.LABEL_TIMEOUT_INVALID],
    ['berth.timeout.read', '1e3', C.LABEL_TIMEOUT_INVALID],
    ['berth.timeout.read', '60; include /etc/passwd', C.LABEL_TIMEOUT_INVALID],
    ['berth.body.max', '0', C.LABEL_BODY_MAX_INVALID],
    ['berth.body.max', '2g', C.LABEL_BODY_MAX_INVALID],
    ['berth.body.max', '1025m', C.LABEL_BODY_MAX_INVALID],
    ['berth.body.max', '10M', C.LABEL_BODY_MAX_INVALID],
    ['berth.body.max', '10mb', C.LABEL_BODY_MAX_INVALID],
    ['berth.body.max', '-1', C.LABEL_BODY_MAX_INVALID],
    ['berth.body.max', '9999999999999999999999k', C.LABEL_BODY_MAX_INVALID],
    ['berth.body.max', '1m;', C.LABEL_BODY_MAX_INVALID],
    ['berth.allow', '10.0.0.1/8', C.LABEL_ALLOW_INVALID],
    ['berth.allow', '10.0.0.0/33', C.LABEL_ALLOW_INVALID],
    ['berth.allow', '2001:db8::/129', C.LABEL_ALLOW_INVALID],
    ['berth.allow', '10.0.0.0/08', C.LABEL_ALLOW_INVALID],
    ['berth.allow', 'all', C.LABEL_ALLOW_INVALID],
    ['berth.allow', 'unix:', C.LABEL_ALLOW_INVALID],
    ['berth.allow', '10.0.0.0/8,,10.1.0.0/16', C.LABEL_ALLOW_INVALID],
    ['berth.allow', '10.0.0.0/8; deny all', C.LABEL_ALLOW_INVALID],
    ['berth.allow', 'fe80::1%eth0', C.LABEL_ALLOW_INVALID],
    ['berth.allow', Array.from({ length: 65 }, (_, i) => `10.0.${i}.0/24`).join(','), C.LABEL_ALLOW_INVALID],
  ])('%s=%j is refused with %s naming the label', (label, value, code) => {
    const r = web({ [label]: value });
    expect(codes(r)).toEqual([code]);
    if (r.kind === 'invalid') expect(r.problems[0].details).toMatchObject({ label });
  });

  test('64 allow entries are accepted (the bound is inclusive)', () => {
    const r = web({ 'berth.allow': Array.from({ length: 64 }, (_, i) => `10.0.${i}.0/24`).join(',') });
    expect(r.kind === 'spec' && r.spec.options?.allow?.length).toBe(64);
  });

  test('a NUL or control character in a value is LABEL_INVALID_STRING, not a parse of the rest', () => {
    expect(codes(web({ 'berth.allow': '10.0.0.0/8\u0000' }))).toEqual([C.LABEL_INVALID_STRING]);
    expect(codes(web({ 'berth.body.max': '1m\n' }))).toEqual([C.LABEL_INVALID_STRING]);
  });

  test('tcp: read timeout and body size are refused (LABEL_NOT_FOR_TCP); connect timeout and allow are accepted', () => {
    const tcp = { 'berth.proxy': 'tcp', 'berth.listen': '5432' };
    const refused = web({ ...tcp, 'berth.timeout.read': '30', 'berth.body.max': '1m' });
    expect(codes(refused)).toEqual([C.LABEL_NOT_FOR_TCP]);
    expect(refused.kind === 'invalid' && refused.problems[0].message).toMatch(/berth\.timeout\.read, berth\.body\.max/);
    const r = web({ ...tcp, 'berth.timeout.connect': '2', 'berth.allow': '192.0.2.0/24' });
    expect(r.kind === 'spec' && r.spec.options).toEqual({ connectTimeout: 2, allow: ['192.0.2.0/24'] });
  });

  test('options apply to every service of the app, per-port ones included', () => {
    const app = anApp(
      { id: '/multi' },
      withPortDefinitions({ port: 8080, name: 'http' }, { port: 9090, name: 'admin' }),
      withLabels({ 'berth.port.http.domain': 'a.example.com', 'berth.port.admin.domain': 'b.example.com', 'berth.allow': '192.0.2.1' }),
    );
    const r = parseApp(app, opts);
    expect(r.kind === 'spec' && r.specs.map((s) => s.options)).toEqual([{ allow: ['192.0.2.1'] }, { allow: ['192.0.2.1'] }]);
  });
});

describe('berth.sticky', () => {
  test.each([
    ['cookie', 'cookie'],
    ['ip', 'ip'],
    [' Cookie ', 'cookie'],
    ['IP', 'ip'],
  ])('%j is accepted as %s', (value, sticky) => {
    const r = web({ 'berth.sticky': value });
    expect(r.kind === 'spec' && r.spec.options).toEqual({ sticky });
  });

  test('off (the default) leaves no option, so the files stay as they were', () => {
    const r = web({ 'berth.sticky': 'off' });
    expect(r.kind === 'spec' && 'options' in r.spec).toBe(false);
  });

  test.each(
    ['', 'on', 'true', 'cookie,ip', 'cookie ip', 'cookie;', 'cookie; hash $remote_addr', 'ip_hash', 'cookie=SESSION', '$request_id', 'x'.repeat(4096)].map(
      (v) => [v.length > 40 ? `${v.slice(0, 8)}… (${v.length} characters)` : JSON.stringify(v), v],
    ),
  )('%s is refused with LABEL_STICKY_INVALID naming the label; only this app is affected', (_shown, value) => {
    const r = web({ 'berth.sticky': value });
    expect(codes(r)).toEqual([C.LABEL_STICKY_INVALID]);
    if (r.kind === 'invalid') expect(r.problems[0].details).toMatchObject({ label: 'berth.sticky' });
    expect(parseApp(anApp({ id: '/other' }, withDomain('other.example.com', { 'berth.sticky': 'cookie' })), opts).kind).toBe('spec');
  });

  test('a NUL, a control character or an oversized value is LABEL_INVALID_STRING', () => {
    expect(codes(web({ 'berth.sticky': 'cookie\u0000' }))).toEqual([C.LABEL_INVALID_STRING]);
    expect(codes(web({ 'berth.sticky': 'ip\r\n' }))).toEqual([C.LABEL_INVALID_STRING]);
    expect(codes(web({ 'berth.sticky': 'c'.repeat(5000) }))).toEqual([C.LABEL_INVALID_STRING]);
  });

  test('a change of mode is a change of the service', () => {
    const a = web({ 'berth.sticky': 'cookie' });
    const b = web({ 'berth.sticky': 'ip' });
    if (a.kind !== 'spec' || b.kind !== 'spec') throw new Error('expected specs');
    expect(sameService(serviceWith(a.spec, []), serviceWith(b.spec, []))).toBe(false);
  });

  test('tcp: cookie is refused (LABEL_NOT_FOR_TCP), ip is accepted (stream upstreams hash on the client address)', () => {
    const tcp = { 'berth.proxy': 'tcp', 'berth.listen': '5432' };
    const refused = web({ ...tcp, 'berth.sticky': 'cookie' });
    expect(codes(refused)).toEqual([C.LABEL_NOT_FOR_TCP]);
    expect(refused.kind === 'invalid' && refused.problems[0].details).toMatchObject({ label: 'berth.sticky' });
    expect(refused.kind === 'invalid' && refused.problems[0].message).toMatch(/berth\.sticky=ip works for tcp/);
    const r = web({ ...tcp, 'berth.sticky': 'ip' });
    expect(r.kind === 'spec' && r.spec.options).toEqual({ sticky: 'ip' });
  });

  test('it applies to every service of the app, per-port ones included; a per-port form is not a label', () => {
    const app = anApp(
      { id: '/multi' },
      withPortDefinitions({ port: 8080, name: 'http' }, { port: 9090, name: 'admin' }),
      withLabels({ 'berth.domain': 'a.example.com', 'berth.port.admin.domain': 'b.example.com', 'berth.sticky': 'cookie', 'berth.port.admin.sticky': 'bogus' }),
    );
    const r = parseApp(app, opts);
    expect(r.kind === 'spec' && r.specs.map((s) => s.options)).toEqual([{ sticky: 'cookie' }, { sticky: 'cookie' }]);
  });

  test('BERTH_LABELS_DENY=berth.sticky refuses an app using it, whatever its value', () => {
    const deny = { ...opts, labelsDeny: ['berth.sticky'] };
    expect(codes(web({ 'berth.sticky': 'off' }, deny))).toEqual([C.LABEL_DENIED]);
    expect(codes(web({ 'berth.sticky': 'ip' }, deny))).toEqual([C.LABEL_DENIED]);
    expect(web({}, deny).kind).toBe('spec');
  });
});

describe('rules', () => {
  test('sizes: k/m/g are powers of 1024 and 1g is the bound', () => {
    expect(checkBodySize('512k')).toEqual({ ok: true, value: 512 * 1024 });
    expect(checkBodySize('1g')).toEqual({ ok: true, value: 1024 ** 3 });
    expect(checkBodySize('1073741824')).toEqual({ ok: true, value: 1024 ** 3 });
    expect(checkBodySize('1073741825').ok).toBe(false);
  });
  test('seconds: digits only, bounds inclusive', () => {
    expect(checkSeconds('60', 1, 60)).toEqual({ ok: true, value: 60 });
    expect(checkSeconds('', 1, 60).ok).toBe(false);
    expect(checkSeconds(' 6', 1, 60).ok).toBe(false);
  });
  test('CIDRs: a bare address is a host; IPv6 (IPv4-mapped too) is normalised to RFC 5952', () => {
    expect(checkCidrList('::FFFF:192.0.2.1,0.0.0.0/0,::/0')).toEqual({ ok: true, value: ['::ffff:c000:201', '0.0.0.0/0', '::/0'] });
  });
});

describe('BERTH_LABELS_DENY', () => {
  const deny = (labelsDeny: string[]) => ({ ...opts, labelsDeny });

  test('an app using a forbidden label is refused with LABEL_DENIED naming it, even when its value is valid', () => {
    const r = web({ 'berth.allow': '10.0.0.0/8' }, deny(['berth.allow', 'berth.body.max']));
    expect(codes(r)).toEqual([C.LABEL_DENIED]);
    if (r.kind === 'invalid') expect(r.problems[0].message).toContain('berth.allow');
  });

  test('apps not using the label are published as usual', () => {
    expect(web({ 'berth.timeout.read': '10' }, deny(['berth.allow'])).kind).toBe('spec');
  });

  test('labels read by other parts of berth and per-port forms are matched by name', () => {
    expect(codes(web({ 'berth.tls': 'on', 'berth.tls.hsts': '600' }, deny(['berth.tls.hsts'])))).toEqual([C.LABEL_DENIED]);
    expect(codes(web({ 'berth.tls': 'on' }, deny(['berth.tls.hsts'])))).toEqual([]);
    const app = anApp({ id: '/p' }, withLabels({ 'berth.port.0.domain': 'p.example.com', 'berth.port.0.proxy': 'http' }));
    expect(codes(parseApp(app, deny(['berth.proxy'])))).toEqual([C.LABEL_DENIED]);
    expect(isLabelDenied('berth.port.web.tls.hsts', 'berth.tls.hsts', 'berth.')).toBe(true);
    expect(isLabelDenied('berth.port..proxy', 'berth.proxy', 'berth.')).toBe(false);
    expect(isLabelDenied('berth.proxyx', 'berth.proxy', 'berth.')).toBe(false);
  });

  test('the config key takes well-formed full names and refuses anything else', () => {
    const base = { BERTH_MARATHON_URLS: 'http://127.0.0.1:8080' };
    expect(loadConfig({ ...base, BERTH_LABELS_DENY: 'berth.allow, berth.body.max' }).labelsDeny).toEqual(['berth.allow', 'berth.body.max']);
    for (const bad of ['allow', 'beth.allow', 'berth.allow,,berth.tls', 'berth.Allow', 'berth.allow;', 'berth..x']) {
      expect(() => loadConfig({ ...base, BERTH_LABELS_DENY: bad })).toThrow(/BERTH_LABELS_DENY/);
    }
  });
});
