/** The configuration's side of the rules: berth's own sockets and the new settings. */
import { loadConfig } from '../../src/config/load';
import { modelPolicyOf, selfSockets } from '../../src/config/model-policy';

describe("berth's own sockets", () => {
  test('API, DNS and a PostgreSQL database by address; a wildcard listen is every local address', () => {
    const s = selfSockets(
      {
        http: { host: '0.0.0.0', port: 8080 },
        dns: { host: '127.0.0.1', port: 5353 },
        databaseUrl: 'postgres://berth@10.1.2.3:6432/berth',
      },
      () => ['127.0.0.1', '10.0.0.9', 'fe80::1'],
    );
    expect(s).toEqual(
      expect.arrayContaining([
        { host: '0.0.0.0', port: 8080, what: 'API' },
        { host: '10.0.0.9', port: 8080, what: 'API' },
        { host: '127.0.0.1', port: 8080, what: 'API' },
        { host: '127.0.0.1', port: 5353, what: 'DNS' },
        { host: '10.1.2.3', port: 6432, what: 'database' },
      ]),
    );
    expect(s.some((x) => x.host === 'fe80::1')).toBe(false);
  });

  test('the embedded database has no socket; a URL without port means 5432', () => {
    expect(selfSockets({ http: { host: '127.0.0.1', port: 1 }, dns: { host: '127.0.0.1', port: 2 } }).map((x) => x.what)).toEqual(['API', 'DNS']);
    expect(
      selfSockets({ http: { host: '127.0.0.1', port: 1 }, dns: { host: '127.0.0.1', port: 2 }, databaseUrl: 'postgres://db.internal/berth' }),
    ).toContainEqual({ host: 'db.internal', port: 5432, what: 'database' });
  });
});

describe('settings', () => {
  test('defaults: no ranges, shared Nginx; zones reserved', () => {
    const p = modelPolicyOf(loadConfig({}));
    expect(p).toMatchObject({ reserved: { zones: ['berth.internal'] }, addresses: { allow: [], deny: [] }, nginxScope: 'shared' });
  });
  test('CIDR lists and the scope are parsed, and bad values name the variable', () => {
    const p = modelPolicyOf(
      loadConfig({ BERTH_FIXED_IP_ALLOW_CIDRS: '10.20.0.0/16, 127.77.0.0/24', BERTH_FIXED_IP_DENY_CIDRS: '10.20.9.0/24', BERTH_NGINX_SCOPE: 'per-env' }),
    );
    expect(p).toMatchObject({ addresses: { allow: ['10.20.0.0/16', '127.77.0.0/24'], deny: ['10.20.9.0/24'] }, nginxScope: 'per-env' });
    expect(() => loadConfig({ BERTH_FIXED_IP_ALLOW_CIDRS: '10.0.0.300/8' })).toThrow(/BERTH_FIXED_IP_ALLOW_CIDRS/);
    expect(() => loadConfig({ BERTH_NGINX_SCOPE: 'global' })).toThrow(/BERTH_NGINX_SCOPE/);
  });
});
