import { parseApp, fixedIpOf, type SpecResult } from '../../src/model/spec';
import { PROBLEM_CODES as C } from '../../src/model/problems';
import {
  anApp,
  withBridgeMappings,
  withContainerNetwork,
  withDocker14,
  withDockerParam,
  withDomain,
  withHealthChecks,
  withInstances,
  withLabel,
  withLabels,
  withPortDefinitions,
} from '../support/builders';
import type { App } from '../../src/marathon/types';

const opts = { defaultEnv: 'default' };

function codes(r: SpecResult): string[] {
  return r.kind === 'invalid' ? r.problems.map((p) => p.code).sort() : [];
}

describe('parseApp: label contract', () => {
  test('an app without berth.domain is ignored silently', () => {
    expect(parseApp(anApp({ id: '/x' }, withLabel('other', 'y')), opts)).toEqual({ kind: 'ignored' });
  });

  test('defaults: http proxy, direct dns, default env, first port', () => {
    const r = parseApp(anApp({ id: '/web' }, withDomain('Web.Shop.berth.internal.')), opts);
    expect(r).toMatchObject({
      kind: 'spec',
      spec: {
        env: 'default',
        appId: '/web',
        domains: ['web.shop.berth.internal'],
        proxy: 'http',
        dns: 'direct',
        listen: null,
        servicePort: 8080,
        portName: 'http',
        portIndex: 0,
        fixedIp: null,
        network: 'host',
        healthChecked: false,
      },
    });
  });

  test('several domains, deduplicated, first is primary', () => {
    const r = parseApp(anApp({ id: '/web' }, withDomain('a.example.com, b.example.com,A.example.com')), opts);
    expect(r.kind === 'spec' && r.spec.domains).toEqual(['a.example.com', 'b.example.com']);
  });

  test('a custom prefix is honoured and the default prefix is then ignored', () => {
    const app = anApp({ id: '/web' }, withLabels({ 'acme/domain': 'a.example.com', 'acme/env': 'qa', 'berth.env': 'BAD!' }));
    const r = parseApp(app, { ...opts, labelPrefix: 'acme/' });
    expect(r).toMatchObject({ kind: 'spec', spec: { env: 'qa' } });
  });

  const long63 = 'a'.repeat(63);
  const refused: Array<{ desc: string; app: App; code: string }> = [
    { desc: 'config injection in domain', app: anApp({ id: '/a' }, withDomain('a.com; include /etc/passwd')), code: C.LABEL_DOMAIN_INVALID },
    { desc: 'newline in domain', app: anApp({ id: '/a' }, withDomain('a.com\nserver_name evil')), code: C.LABEL_INVALID_STRING },
    { desc: 'braces in domain', app: anApp({ id: '/a' }, withDomain('a.com}')), code: C.LABEL_DOMAIN_INVALID },
    { desc: 'name longer than 253', app: anApp({ id: '/a' }, withDomain(`${long63}.${long63}.${long63}.${long63}.com`)), code: C.LABEL_DOMAIN_INVALID },
    { desc: 'label longer than 63', app: anApp({ id: '/a' }, withDomain(`${long63}a.com`)), code: C.LABEL_DOMAIN_INVALID },
    { desc: 'empty label', app: anApp({ id: '/a' }, withDomain('a..com')), code: C.LABEL_DOMAIN_INVALID },
    { desc: 'empty domain', app: anApp({ id: '/a' }, withDomain('')), code: C.LABEL_DOMAIN_INVALID },
    { desc: 'empty item in the list', app: anApp({ id: '/a' }, withDomain('a.com,,b.com')), code: C.LABEL_DOMAIN_INVALID },
    { desc: 'leading hyphen', app: anApp({ id: '/a' }, withDomain('-a.com')), code: C.LABEL_DOMAIN_INVALID },
    { desc: 'underscore', app: anApp({ id: '/a' }, withDomain('a_b.com')), code: C.LABEL_DOMAIN_INVALID },
    { desc: 'wildcard', app: anApp({ id: '/a' }, withDomain('*.a.com')), code: C.LABEL_DOMAIN_INVALID },
    { desc: 'an IP as domain', app: anApp({ id: '/a' }, withDomain('10.0.0.1')), code: C.LABEL_DOMAIN_INVALID },
    { desc: 'port 99999', app: anApp({ id: '/a' }, withDomain('a.com', { 'berth.port': '99999' })), code: C.LABEL_PORT_INVALID },
    { desc: 'port 0', app: anApp({ id: '/a' }, withDomain('a.com', { 'berth.port': '0' })), code: C.LABEL_PORT_INVALID },
    { desc: 'port with junk', app: anApp({ id: '/a' }, withDomain('a.com', { 'berth.port': '80;' })), code: C.LABEL_PORT_INVALID },
    { desc: 'unknown port name', app: anApp({ id: '/a' }, withDomain('a.com', { 'berth.port': 'grpc' })), code: C.PORT_NOT_FOUND },
    { desc: 'host app: undeclared port number', app: anApp({ id: '/a' }, withDomain('a.com', { 'berth.port': '9999' })), code: C.PORT_NOT_FOUND },
    { desc: 'no port declared and none named', app: anApp({ id: '/a' }, withDomain('a.com'), withPortDefinitions()), code: C.PORT_NOT_FOUND },
    { desc: 'ip 10.0.0.300', app: anApp({ id: '/a' }, withDomain('a.com', { 'berth.ip': '10.0.0.300' })), code: C.LABEL_IP_INVALID },
    { desc: 'ip with leading zero', app: anApp({ id: '/a' }, withDomain('a.com', { 'berth.ip': '10.0.0.01' })), code: C.LABEL_IP_INVALID },
    { desc: 'short ip', app: anApp({ id: '/a' }, withDomain('a.com', { 'berth.ip': '10.1' })), code: C.LABEL_IP_INVALID },
    { desc: 'ipv6 with zone', app: anApp({ id: '/a' }, withDomain('a.com', { 'berth.ip': 'fe80::1%eth0' })), code: C.LABEL_IP_INVALID },
    { desc: 'bad docker ip parameter', app: anApp({ id: '/a' }, withDomain('a.com'), withDockerParam('ip', '1.2.3.4; rm')), code: C.LABEL_IP_INVALID },
    {
      desc: 'label and docker ip disagree',
      app: anApp({ id: '/a' }, withDomain('a.com', { 'berth.ip': '10.0.0.5' }), withDockerParam('ip', '10.0.0.6')),
      code: C.FIXED_IP_MISMATCH,
    },
    { desc: 'auto ip never prepared', app: anApp({ id: '/a' }, withDomain('a.com', { 'berth.ip': 'auto:blue' })), code: C.FIXED_IP_UNRESOLVED },
    {
      desc: 'fixed ip with 2 instances',
      app: anApp({ id: '/a' }, withDomain('a.com', { 'berth.ip': '10.0.0.5' }), withInstances(2)),
      code: C.FIXED_IP_MULTIPLE_INSTANCES,
    },
    { desc: 'env with capitals', app: anApp({ id: '/a' }, withDomain('a.com', { 'berth.env': 'QA' })), code: C.LABEL_ENV_INVALID },
    { desc: 'env too long', app: anApp({ id: '/a' }, withDomain('a.com', { 'berth.env': 'e'.repeat(33) })), code: C.LABEL_ENV_INVALID },
    { desc: 'env with path', app: anApp({ id: '/a' }, withDomain('a.com', { 'berth.env': '../etc' })), code: C.LABEL_ENV_INVALID },
    { desc: 'unknown proxy mode', app: anApp({ id: '/a' }, withDomain('a.com', { 'berth.proxy': 'udp' })), code: C.LABEL_PROXY_INVALID },
    { desc: 'tcp without listen', app: anApp({ id: '/a' }, withDomain('a.com', { 'berth.proxy': 'tcp' })), code: C.LABEL_LISTEN_REQUIRED },
    {
      desc: 'listen out of range',
      app: anApp({ id: '/a' }, withDomain('a.com', { 'berth.proxy': 'tcp', 'berth.listen': '70000' })),
      code: C.LABEL_LISTEN_INVALID,
    },
    { desc: 'unknown dns mode', app: anApp({ id: '/a' }, withDomain('a.com', { 'berth.dns': 'both' })), code: C.LABEL_DNS_INVALID },
  ];
  test.each(refused)('refuses: $desc', ({ app, code }) => {
    const r = parseApp(app, opts);
    expect(r.kind).toBe('invalid');
    expect(codes(r)).toContain(code);
  });

  test('every violation on one app is reported at once, with the label and a clipped value', () => {
    const r = parseApp(anApp({ id: '/a' }, withDomain('x'.repeat(300), { 'berth.proxy': 'tcp', 'berth.dns': 'weird' })), opts);
    expect(codes(r)).toEqual([C.LABEL_DNS_INVALID, C.LABEL_DOMAIN_INVALID, C.LABEL_LISTEN_REQUIRED].sort());
    const p = r.kind === 'invalid' ? r.problems.find((x) => x.code === C.LABEL_DOMAIN_INVALID) : undefined;
    expect(p?.details).toMatchObject({ label: 'berth.domain' });
    expect(String(p?.details?.value).length).toBeLessThanOrEqual(121);
    expect(p?.appId).toBe('/a');
    expect(p?.env).toBe('default');
  });

  test('problems carry no env when berth.env itself is invalid', () => {
    const r = parseApp(anApp({ id: '/a' }, withDomain('a.com', { 'berth.env': 'NO' })), opts);
    expect(r).toMatchObject({ kind: 'invalid', env: null });
  });
});

describe('parseApp: ports, networks and fixed IPs', () => {
  const accepted: Array<{ desc: string; app: App; expect: Record<string, unknown> }> = [
    {
      desc: 'port by name',
      app: anApp(
        { id: '/a' },
        withDomain('a.com', { 'berth.port': 'admin' }),
        withPortDefinitions({ port: 8080, name: 'http' }, { port: 9090, name: 'admin' }),
      ),
      expect: { servicePort: 9090, portIndex: 1, portName: 'admin', network: 'host' },
    },
    {
      desc: 'port by number',
      app: anApp({ id: '/a' }, withDomain('a.com', { 'berth.port': '9090' }), withPortDefinitions({ port: 8080 }, { port: 9090 })),
      expect: { servicePort: 9090, portIndex: 1, portName: null },
    },
    {
      desc: '1.5 bridge portMappings',
      app: anApp({ id: '/a' }, withDomain('a.com'), withBridgeMappings({ containerPort: 80, hostPort: 0, name: 'web' })),
      expect: { servicePort: 80, portIndex: 0, portName: 'web', network: 'host' },
    },
    {
      desc: '1.4 docker BRIDGE portMappings',
      app: anApp({ id: '/a' }, withDomain('a.com'), withDocker14('BRIDGE', { containerPort: 8000, hostPort: 0 })),
      expect: { servicePort: 8000, network: 'host' },
    },
    {
      desc: '1.4 docker USER network',
      app: anApp({ id: '/a' }, withDomain('a.com'), withDocker14('USER', { containerPort: 8000 })),
      expect: { servicePort: 8000, network: 'container' },
    },
    {
      desc: '1.5 container network',
      app: anApp({ id: '/a' }, withDomain('a.com'), withContainerNetwork('overlay', { containerPort: 5000, name: 'api' })),
      expect: { servicePort: 5000, network: 'container', portName: 'api' },
    },
    {
      desc: '1.4 ipAddress {} workaround',
      app: anApp({ id: '/a', ipAddress: {} }, withDomain('a.com', { 'berth.port': '7000' })),
      expect: { servicePort: 7000, network: 'container', portIndex: null },
    },
    {
      desc: 'fixed ip label, undeclared port',
      app: anApp({ id: '/a' }, withDomain('a.com', { 'berth.ip': '10.1.2.3', 'berth.port': '6379' }), withPortDefinitions()),
      expect: { fixedIp: '10.1.2.3', network: 'fixed', servicePort: 6379, portIndex: null },
    },
    {
      desc: 'fixed ip from docker parameter',
      app: anApp({ id: '/a' }, withDomain('a.com'), withDockerParam('net', 'br0'), withDockerParam('ip', '10.1.2.4')),
      expect: { fixedIp: '10.1.2.4', network: 'fixed' },
    },
    {
      desc: 'label and parameter agree',
      app: anApp({ id: '/a' }, withDomain('a.com', { 'berth.ip': '10.1.2.4' }), withDockerParam('ip', '10.1.2.4')),
      expect: { fixedIp: '10.1.2.4' },
    },
    {
      desc: 'auto label after prepare (parameter filled)',
      app: anApp({ id: '/a' }, withDomain('a.com', { 'berth.ip': 'auto' }), withDockerParam('ip', '10.1.2.9')),
      expect: { fixedIp: '10.1.2.9' },
    },
    {
      desc: 'ipv6 fixed ip is normalised',
      app: anApp({ id: '/a' }, withDomain('a.com', { 'berth.ip': '2001:DB8:0:0::10' })),
      expect: { fixedIp: '2001:db8::10' },
    },
    {
      desc: 'tcp with listen',
      app: anApp({ id: '/a' }, withDomain('a.com', { 'berth.proxy': 'tcp', 'berth.listen': '6379' })),
      expect: { proxy: 'tcp', listen: 6379 },
    },
    { desc: 'listen ignored for http', app: anApp({ id: '/a' }, withDomain('a.com', { 'berth.listen': '6379' })), expect: { proxy: 'http', listen: null } },
    { desc: 'health checks noted', app: anApp({ id: '/a' }, withDomain('a.com'), withHealthChecks()), expect: { healthChecked: true } },
    {
      desc: 'env, proxy none, dns proxy',
      app: anApp({ id: '/a' }, withDomain('a.com', { 'berth.env': 'qa-1', 'berth.proxy': 'none', 'berth.dns': 'proxy' })),
      expect: { env: 'qa-1', proxy: 'none', dns: 'proxy' },
    },
    {
      desc: 'fixed ip with one instance',
      app: anApp({ id: '/a' }, withDomain('a.com', { 'berth.ip': '10.0.0.5' }), withInstances(1)),
      expect: { fixedIp: '10.0.0.5', instances: 1 },
    },
  ];
  test.each(accepted)('accepts: $desc', ({ app, expect: e }) => {
    const r = parseApp(app, opts);
    if (r.kind !== 'spec') throw new Error(`expected a spec, got ${JSON.stringify(r)}`);
    expect(r.spec).toMatchObject(e);
  });

  test('fixedIpOf works for apps without berth.domain (IPAM reconciliation)', () => {
    expect(fixedIpOf(anApp({ id: '/raw' }, withDockerParam('ip', '10.9.9.9')))).toBe('10.9.9.9');
    expect(fixedIpOf(anApp({ id: '/raw' }))).toBeNull();
    expect(fixedIpOf(anApp({ id: '/raw' }, withDockerParam('ip', 'nope')))).toBeNull();
  });
});
