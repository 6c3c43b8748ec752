/** `berth.path` / `berth.path.strip` labels (model/path-labels.ts) and domain claims per prefix (model/conflicts.ts). */
import { recordFromApp, type AppRecord } from '../../src/model/catalog';
import { resolveConflicts } from '../../src/model/conflicts';
import { PROBLEM_CODES as C } from '../../src/model/problems';
import { parseApp } from '../../src/model/spec';
import type { App } from '../../src/marathon/types';
import { anApp, withDomain } from '../support/builders';

const opts = { defaultEnv: 'default' };
const rec = (app: App, firstSeen: number): AppRecord => recordFromApp(app, undefined, opts, firstSeen);
const pathApp = (id: string, domain: string, path: string, extra: Record<string, string> = {}) =>
  anApp({ id }, withDomain(domain, { 'berth.path': path, ...extra }));

describe('berth.path labels', () => {
  test('prefixes are normalised and carried with strip; berth.dns=direct is answered through the proxy', () => {
    const r = parseApp(pathApp('/api', 'shop.test', '/api/, /static', { 'berth.path.strip': 'TRUE' }), opts);
    expect(r.kind).toBe('spec');
    if (r.kind !== 'spec') return;
    expect(r.spec).toMatchObject({ paths: ['/api', '/static'], pathStrip: true, dns: 'proxy' });
    const none = parseApp(pathApp('/api', 'shop.test', '/api', { 'berth.dns': 'none', 'berth.path.strip': 'false' }), opts);
    expect(none.kind === 'spec' && none.spec).toMatchObject({ paths: ['/api'], dns: 'none' });
    expect(none.kind === 'spec' && 'pathStrip' in none.spec).toBe(false);
  });

  test('an app without berth.path carries no path field (its spec is what it always was)', () => {
    const r = parseApp(anApp({ id: '/web' }, withDomain('shop.test')), opts);
    expect(r.kind === 'spec' && Object.keys(r.spec)).not.toEqual(expect.arrayContaining(['paths', 'pathStrip']));
  });

  test.each([
    ['injection', '/a;}server{', {}],
    ['space', '/a b', {}],
    ['//', '//', {}],
    ['..', '/..', {}],
    ['empty', '', {}],
    ['200 prefixes', Array.from({ length: 200 }, (_, i) => `/p${i}`).join(','), {}],
    ['strip not a boolean', '/api', { 'berth.path.strip': 'yes' }],
    ['tcp service', '/api', { 'berth.proxy': 'tcp', 'berth.listen': '5000' }],
    ['unproxied service', '/api', { 'berth.proxy': 'none' }],
  ])('%s is LABEL_PATH_INVALID for that app only', (_name, path, extra) => {
    const r = parseApp(pathApp('/bad', 'shop.test', path as string, extra as Record<string, string>), opts);
    expect(r.kind).toBe('invalid');
    if (r.kind === 'invalid') expect(r.problems.map((p) => p.code)).toContain(C.LABEL_PATH_INVALID);
  });

  test('berth.path.strip without berth.path is refused; a NUL in berth.path is LABEL_INVALID_STRING', () => {
    const r = parseApp(anApp({ id: '/x' }, withDomain('shop.test', { 'berth.path.strip': 'true' })), opts);
    expect(r.kind === 'invalid' && r.problems.map((p) => p.code)).toEqual([C.LABEL_PATH_INVALID]);
    const nul = parseApp(pathApp('/x', 'shop.test', '/a\u0000b'), opts);
    expect(nul.kind === 'invalid' && nul.problems.map((p) => p.code)).toEqual([C.LABEL_INVALID_STRING]);
  });
});

describe('domain claims per path prefix', () => {
  test('apps with different prefixes (and one / app) share a domain', () => {
    const r = resolveConflicts([
      rec(anApp({ id: '/web' }, withDomain('shop.test', { 'berth.dns': 'proxy' })), 1),
      rec(pathApp('/api', 'shop.test', '/api'), 2),
      rec(pathApp('/v2', 'shop.test', '/api/v2'), 3),
      rec(pathApp('/static', 'shop.test,cdn.test', '/static'), 4),
    ]);
    expect(r.problems).toEqual([]);
    expect([...r.winners].sort()).toEqual(['/api', '/static', '/v2', '/web']);
  });

  test('the older claim of a domain and prefix keeps it; the newer app loses as a whole (PATH_CONFLICT)', () => {
    const r = resolveConflicts([rec(pathApp('/new', 'other.test,shop.test', '/x,/api/'), 200), rec(pathApp('/old', 'shop.test', '/api'), 100)]);
    expect([...r.winners]).toEqual(['/old']);
    expect(r.problems).toEqual([
      expect.objectContaining({
        code: C.PATH_CONFLICT,
        appId: '/new',
        details: { conflicts: [{ domain: 'shop.test', path: '/api', owner: '/old', env: 'default' }] },
      }),
    ]);
    expect(r.problems[0].message).toBe('path /api on shop.test belongs to the older app /old in environment default');
  });

  test('two / apps on one domain stay a DOMAIN_CONFLICT, whatever path apps share it', () => {
    const r = resolveConflicts([
      rec(pathApp('/api', 'shop.test', '/api'), 1),
      rec(anApp({ id: '/web' }, withDomain('shop.test', { 'berth.dns': 'proxy' })), 2),
      rec(anApp({ id: '/web2' }, withDomain('shop.test', { 'berth.dns': 'proxy' })), 3),
    ]);
    expect([...r.winners].sort()).toEqual(['/api', '/web']);
    expect(r.problems.map((p) => [p.appId, p.code])).toEqual([['/web2', C.DOMAIN_CONFLICT]]);
  });

  test('a / app answering with its own tasks (berth.dns=direct) and path apps do not share: the newer loses', () => {
    const direct = rec(anApp({ id: '/web' }, withDomain('shop.test')), 1);
    const api = rec(pathApp('/api', 'shop.test', '/api'), 2);
    const r = resolveConflicts([api, direct]);
    expect([...r.winners]).toEqual(['/web']);
    expect(r.problems).toEqual([expect.objectContaining({ code: C.DOMAIN_CONFLICT, appId: '/api' })]);
    expect(r.problems[0].message).toContain('berth.dns=direct');
    const r2 = resolveConflicts([rec(pathApp('/api', 'shop.test', '/api'), 1), rec(anApp({ id: '/web' }, withDomain('shop.test')), 2)]);
    expect([...r2.winners]).toEqual(['/api']);
    expect(r2.problems).toEqual([expect.objectContaining({ code: C.DOMAIN_CONFLICT, appId: '/web' })]);
  });

  test('a tcp name is never shared by path, in either order', () => {
    const tcp = (first: number) => rec(anApp({ id: '/db' }, withDomain('shop.test', { 'berth.proxy': 'tcp', 'berth.listen': '5432' })), first);
    const r = resolveConflicts([tcp(1), rec(pathApp('/api', 'shop.test', '/api'), 2)]);
    expect(r.problems.map((p) => [p.appId, p.code])).toEqual([['/api', C.DOMAIN_CONFLICT]]);
    const r2 = resolveConflicts([tcp(2), rec(pathApp('/api', 'shop.test', '/api'), 1)]);
    expect(r2.problems.map((p) => [p.appId, p.code])).toEqual([['/db', C.DOMAIN_CONFLICT]]);
  });

  test('a shared domain stays in one environment when Nginx is shared; with one Nginx per environment each has its own', () => {
    const a = rec(pathApp('/a', 'shop.test', '/api', { 'berth.env': 'one' }), 1);
    const b = rec(pathApp('/b', 'shop.test', '/static', { 'berth.env': 'two' }), 2);
    const shared = resolveConflicts([a, b], { nginxScope: 'shared' });
    expect(shared.problems.map((p) => [p.appId, p.code])).toEqual([['/b', C.DOMAIN_CONFLICT]]);
    expect(resolveConflicts([a, b], { nginxScope: 'per-env' }).problems).toEqual([]);
  });
});
