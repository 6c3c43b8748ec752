import { diffCatalog, diffProblems, sameService } from '../../src/model/diff';
import type { Problem, Service } from '../../src/model/types';

const svc = (appId: string, endpoints: Array<[string, string, number]> = [], over: Partial<Service> = {}): Service => ({
  env: 'default',
  appId,
  domains: [`${appId.slice(1)}.com`],
  proxy: 'http',
  listen: null,
  dns: 'direct',
  portName: null,
  servicePort: 80,
  fixedIp: null,
  version: 'v1',
  endpoints: endpoints.map(([taskId, address, port]) => ({ taskId, address, port, host: 'h' })),
  ...over,
});

describe('catalog diff', () => {
  test('added, changed, removed and unchanged services', () => {
    const prev = new Map([
      ['/a', svc('/a', [['t1', '1.1.1.1', 80]])],
      ['/b', svc('/b')],
      ['/c', svc('/c')],
    ]);
    const next = new Map([
      [
        '/a',
        svc('/a', [
          ['t1', '1.1.1.1', 80],
          ['t2', '1.1.1.2', 80],
        ]),
      ],
      ['/b', svc('/b')],
      ['/d', svc('/d')],
    ]);
    const d = diffCatalog(prev, next);
    expect(d.upserts.map((s) => s.appId).sort()).toEqual(['/a', '/d']);
    expect(d.removals.map((s) => s.appId)).toEqual(['/c']);
  });

  test('only touched keys are compared when given', () => {
    const prev = new Map([
      ['/a', svc('/a')],
      ['/b', svc('/b')],
    ]);
    const next = new Map([['/a', svc('/a', [], { version: 'v2' })]]);
    expect(diffCatalog(prev, next, ['/a'])).toEqual({ upserts: [next.get('/a')], removals: [] });
  });

  const changes: Array<{ desc: string; over: Partial<Service> }> = [
    { desc: 'domains', over: { domains: ['x.com'] } },
    { desc: 'proxy', over: { proxy: 'tcp', listen: 1 } },
    { desc: 'dns mode', over: { dns: 'none' } },
    { desc: 'port', over: { servicePort: 81 } },
    { desc: 'fixed ip', over: { fixedIp: '10.0.0.1' } },
    { desc: 'version', over: { version: 'v2' } },
    { desc: 'endpoint port', over: { endpoints: [{ taskId: 't', address: '1.1.1.1', port: 81, host: 'h' }] } },
  ];
  test.each(changes)('a change of $desc is a change', ({ over }) => {
    const base = svc('/a', [['t', '1.1.1.1', 80]]);
    expect(sameService(base, { ...base, ...over })).toBe(false);
    expect(sameService(base, { ...base })).toBe(true);
  });
});

describe('problem diff', () => {
  const p = (appId: string, code: string, message = 'm'): Problem => ({ appId, code, env: null, message });
  test('raised, changed (keeping since) and cleared', () => {
    const prev = new Map([
      ['/a\u0000X', { ...p('/a', 'X'), since: 'T0' }],
      ['/b\u0000Y', { ...p('/b', 'Y'), since: 'T0' }],
    ]);
    const d = diffProblems(prev, [p('/a', 'X', 'new message'), p('/c', 'Z')]);
    expect(d.raised.map((x) => x.appId)).toEqual(['/c']);
    expect(d.changed).toEqual([expect.objectContaining({ appId: '/a', message: 'new message', since: 'T0' })]);
    expect(d.cleared.map((x) => x.appId)).toEqual(['/b']);
  });
});
