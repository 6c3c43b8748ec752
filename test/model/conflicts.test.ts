import { recordFromApp, type AppRecord } from '../../src/model/catalog';
import { resolveConflicts } from '../../src/model/conflicts';
import { PROBLEM_CODES as C } from '../../src/model/problems';
import type { App } from '../../src/marathon/types';
import { anApp, withDomain } from '../support/builders';

const rec = (app: App, firstSeen: number): AppRecord => recordFromApp(app, undefined, { defaultEnv: 'default' }, firstSeen);

describe('domain conflicts', () => {
  test('the older app keeps the domain; the newer one is a problem naming the owner', () => {
    const old = rec(anApp({ id: '/old' }, withDomain('a.com')), 100);
    const young = rec(anApp({ id: '/new' }, withDomain('b.com,a.com')), 200);
    const r = resolveConflicts([young, old]);
    expect([...r.winners]).toEqual(['/old']);
    expect(r.problems).toEqual([
      expect.objectContaining({
        code: C.DOMAIN_CONFLICT,
        appId: '/new',
        env: 'default',
        details: { conflicts: [{ domain: 'a.com', owner: '/old', env: 'default' }] },
      }),
    ]);
  });

  test('same first-seen time: earlier config change wins, then app id', () => {
    const a = rec(anApp({ id: '/b', versionInfo: { lastConfigChangeAt: '2020-01-01T00:00:00.000Z' } }, withDomain('a.com')), 1);
    const b = rec(anApp({ id: '/a', versionInfo: { lastConfigChangeAt: '2021-01-01T00:00:00.000Z' } }, withDomain('a.com')), 1);
    expect([...resolveConflicts([b, a]).winners]).toEqual(['/b']);
    const c = rec(anApp({ id: '/c' }, withDomain('x.com')), 1);
    const d = rec(anApp({ id: '/d' }, withDomain('x.com')), 1);
    expect([...resolveConflicts([d, c]).winners]).toEqual(['/c']);
  });

  test('with one shared Nginx, the same http domain in two environments is a conflict naming the other app and environment', () => {
    const a = rec(anApp({ id: '/a' }, withDomain('a.com', { 'berth.env': 'integration' })), 1);
    const b = rec(anApp({ id: '/b' }, withDomain('a.com', { 'berth.env': 'func-a' })), 2);
    const r = resolveConflicts([b, a], { nginxScope: 'shared' });
    expect([...r.winners]).toEqual(['/a']);
    expect(r.problems).toEqual([
      expect.objectContaining({
        code: C.DOMAIN_CONFLICT,
        appId: '/b',
        env: 'func-a',
        details: { conflicts: [{ domain: 'a.com', owner: '/a', env: 'integration' }] },
      }),
    ]);
    expect(r.problems[0].message).toContain('environment integration, which shares Nginx with func-a');
  });

  test('with one Nginx per environment, or for names Nginx does not serve, the same domain in two environments is no conflict', () => {
    const a = rec(anApp({ id: '/a' }, withDomain('a.com', { 'berth.env': 'qa' })), 1);
    const b = rec(anApp({ id: '/b' }, withDomain('a.com')), 2);
    expect(resolveConflicts([a, b], { nginxScope: 'per-env' }).winners.size).toBe(2);
    const c = rec(anApp({ id: '/c' }, withDomain('c.com', { 'berth.env': 'qa', 'berth.proxy': 'none' })), 1);
    const d = rec(anApp({ id: '/d' }, withDomain('c.com')), 2);
    expect(resolveConflicts([c, d], { nginxScope: 'shared' }).winners.size).toBe(2);
  });

  test('with one shared Nginx, tcp listen ports conflict across environments', () => {
    const a = rec(anApp({ id: '/a' }, withDomain('a.com', { 'berth.env': 'qa', 'berth.proxy': 'tcp', 'berth.listen': '6379' })), 1);
    const b = rec(anApp({ id: '/b' }, withDomain('b.com', { 'berth.proxy': 'tcp', 'berth.listen': '6379' })), 2);
    expect(resolveConflicts([a, b], { nginxScope: 'shared' }).problems[0]).toMatchObject({
      code: C.LISTEN_CONFLICT,
      appId: '/b',
      details: { owner: '/a', ownerEnv: 'qa' },
    });
    expect(resolveConflicts([a, b], { nginxScope: 'per-env' }).winners.size).toBe(2);
  });

  test('two tcp apps on the same listen port in one environment conflict', () => {
    const a = rec(anApp({ id: '/a' }, withDomain('a.com', { 'berth.proxy': 'tcp', 'berth.listen': '6379' })), 1);
    const b = rec(anApp({ id: '/b' }, withDomain('b.com', { 'berth.proxy': 'tcp', 'berth.listen': '6379' })), 2);
    const r = resolveConflicts([a, b]);
    expect([...r.winners]).toEqual(['/a']);
    expect(r.problems[0]).toMatchObject({ code: C.LISTEN_CONFLICT, appId: '/b' });
  });

  test('a loser claims nothing: a third app may take its other domains', () => {
    const a = rec(anApp({ id: '/a' }, withDomain('a.com')), 1);
    const b = rec(anApp({ id: '/b' }, withDomain('a.com,b.com')), 2);
    const c = rec(anApp({ id: '/c' }, withDomain('b.com')), 3);
    expect([...resolveConflicts([a, b, c]).winners].sort()).toEqual(['/a', '/c']);
  });
});
