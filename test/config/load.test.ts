import path from 'node:path';
import { ROOT } from '../support/spawn';
import { ConfigError, loadConfig } from '../../src/config/load';

function errorsOf(env: Record<string, string>, file?: string): string[] {
  try {
    loadConfig(env, () => {
      if (file === undefined) throw new Error('ENOENT: no such file');
      return file;
    });
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    const c = loadConfig({});
    expect(c.http).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(c.dns).toEqual({
      host: '127.0.0.1',
      port: 5353,
      zones: ['berth.internal'],
      ttl: 10,
      forwarders: [],
      transferAllow: [],
      notify: [],
      envByEcs: false,
    });
    expect(c.dataDir).toBe('./var');
    expect(c.databaseUrl).toBeUndefined();
    expect(c.marathon.urls).toEqual([]);
    expect(c.nginx).toEqual({
      dir: './var/nginx',
      templates: path.join(ROOT, 'nginx-templates'),
      httpListen: '80',
      testCmd: 'nginx -t',
      reloadCmd: 'nginx -s reload',
      mainConf: null,
      quarantineMaxMs: 600000,
      adminListen: '127.0.0.1:8099',
      confirmTimeoutMs: 5000,
      dynamic: 'off',
      httpsListen: '443',
    });
    // TLS is unavailable until the operator names a certificate directory.
    expect(c.tls).toEqual({ dir: '', expiryWarnDays: 14 });
    expect(c.syncIntervalMs).toBe(2000);
    expect(c.resyncIntervalMs).toBe(300000);
    expect(c.labelPrefix).toBe('berth.');
    expect(c.defaultEnv).toBe('default');
    expect(c.maxRemovalRatio).toBe(0.5);
    expect(c.logLevel).toBe('info');
    expect(c.apiTokens).toEqual([]);
    expect(c.apiAllowedOrigins).toEqual([]);
    expect(c.apiAllowedHosts).toEqual([]);
    expect(c.auditRetention).toEqual({ days: 90, maxRows: 1_000_000, intervalMs: 60_000 });
  });

  it('reads the dynamic endpoint mode and the Nginx admin address, refusing other modes', () => {
    const c = loadConfig({ BERTH_NGINX_DYNAMIC: 'lua', BERTH_NGINX_ADMIN_LISTEN: '[::1]:9001' });
    expect(c.nginx).toMatchObject({ dynamic: 'lua', adminListen: '[::1]:9001' });
    expect(errorsOf({ BERTH_NGINX_DYNAMIC: 'njs' })).toEqual([expect.stringMatching(/BERTH_NGINX_DYNAMIC.*one of off, lua/)]);
    expect(errorsOf({ BERTH_NGINX_ADMIN_LISTEN: 'nginx admin' })).toEqual([expect.stringMatching(/BERTH_NGINX_ADMIN_LISTEN/)]);
    // lua mode has no way to deliver endpoints without the admin server.
    expect(errorsOf({ BERTH_NGINX_DYNAMIC: 'lua', BERTH_NGINX_ADMIN_LISTEN: '' })).toEqual([
      expect.stringMatching(/^BERTH_NGINX_ADMIN_LISTEN: BERTH_NGINX_DYNAMIC=lua needs/),
    ]);
  });

  it('returns a deeply frozen object', () => {
    const c = loadConfig({ BERTH_DNS_ZONES: 'a.internal,b.internal' });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.dns.zones)).toBe(true);
    expect(() => (c.dns.zones as string[]).push('x')).toThrow();
  });

  it('parses lists, addresses and environments', () => {
    const c = loadConfig({
      BERTH_MARATHON_URLS: 'http://m1:8080/, https://m2:8443',
      BERTH_HTTP_ADDR: '0.0.0.0:9000',
      BERTH_DNS_ADDR: '[::1]:53',
      BERTH_DNS_FORWARDERS: '10.0.0.2,10.0.0.3:5300',
      BERTH_ENVIRONMENTS: '{"func-a": {"clients": ["127.0.0.2/32"], "proxyAddresses": ["10.0.0.5"]}}',
      BERTH_NGINX_RELOAD_CMD: '',
    });
    expect(c.marathon.urls).toEqual(['http://m1:8080', 'https://m2:8443']);
    expect(c.http).toEqual({ host: '0.0.0.0', port: 9000 });
    expect(c.dns.host).toBe('::1');
    expect(c.dns.forwarders).toEqual(['10.0.0.2:53', '10.0.0.3:5300']);
    expect(c.environments['func-a']).toEqual({ clients: ['127.0.0.2/32'], proxyAddresses: ['10.0.0.5'] });
    expect(c.nginx.reloadCmd).toBe('');
  });

  it('with BERTH_NGINX_MAIN_CONF the default test checks the candidate conf; a test command of the operator is kept as given', () => {
    const staged = loadConfig({ BERTH_NGINX_MAIN_CONF: '/etc/nginx/nginx.conf' });
    expect(staged.nginx).toMatchObject({ mainConf: '/etc/nginx/nginx.conf', testCmd: 'nginx -t -c "$BERTH_NGINX_CANDIDATE_CONF"' });
    const own = loadConfig({ BERTH_NGINX_MAIN_CONF: '/etc/nginx/nginx.conf', BERTH_NGINX_TEST_CMD: '/usr/local/bin/check-nginx' });
    expect(own.nginx.testCmd).toBe('/usr/local/bin/check-nginx');
  });

  it('names every bad key and why, in one error', () => {
    const problems = errorsOf({
      BERTH_DNS_TTL: 'abc',
      BERTH_HTTP_ADDR: 'nope',
      BERTH_MARATHON_URLS: 'ftp://x',
      BERTH_MAX_REMOVAL_RATIO: '1.5',
      BERTH_DEFAULT_ENV: 'Bad_Env',
      BERTH_ENVIRONMENTS: '{"x": {"clients": ["300.0.0.0/8"]}}',
      BERTH_DATABASE_URL: 'mysql://x',
      BERTH_LOG_LEVEL: 'loud',
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        'BERTH_DNS_TTL: must be an integer ≥ 0 and ≤ 2147483647, got "abc"',
        expect.stringMatching(/^BERTH_HTTP_ADDR: /),
        expect.stringMatching(/^BERTH_MARATHON_URLS: must be an http\(s\) URL/),
        expect.stringMatching(/^BERTH_MAX_REMOVAL_RATIO: must be a number between 0 and 1/),
        expect.stringMatching(/^BERTH_DEFAULT_ENV: /),
        expect.stringMatching(/^BERTH_ENVIRONMENTS: x.clients: /),
        expect.stringMatching(/^BERTH_DATABASE_URL: /),
        expect.stringMatching(/^BERTH_LOG_LEVEL: /),
      ]),
    );
    expect(problems).toHaveLength(8);
  });

  it('accepts only a loopback admin listen address for Nginx (or none), with a clear reason', () => {
    expect(loadConfig({ BERTH_NGINX_ADMIN_LISTEN: '127.0.0.2:9000' }).nginx.adminListen).toBe('127.0.0.2:9000');
    expect(loadConfig({ BERTH_NGINX_ADMIN_LISTEN: '[::1]:9000' }).nginx.adminListen).toBe('[::1]:9000');
    expect(loadConfig({ BERTH_NGINX_ADMIN_LISTEN: '' }).nginx.adminListen).toBe('');
    expect(errorsOf({ BERTH_NGINX_ADMIN_LISTEN: '0.0.0.0:8099' })).toEqual([expect.stringMatching(/^BERTH_NGINX_ADMIN_LISTEN: must be a loopback address/)]);
    expect(errorsOf({ BERTH_NGINX_ADMIN_LISTEN: '10.0.0.1:8099' })).toEqual([expect.stringMatching(/must not be reachable from other hosts/)]);
    expect(errorsOf({ BERTH_NGINX_ADMIN_LISTEN: 'localhost:8099' })).toEqual([expect.stringMatching(/^BERTH_NGINX_ADMIN_LISTEN: must be a loopback ip:port/)]);
  });

  it('reads BERTH_CONFIG and lets variables win', () => {
    const file = JSON.stringify({ BERTH_DNS_TTL: 30, BERTH_SYNC_INTERVAL_MS: 500, BERTH_DNS_ZONES: ['x.internal'] });
    const c = loadConfig({ BERTH_CONFIG: '/etc/berth.json', BERTH_DNS_TTL: '5' }, () => file);
    expect(c.dns.ttl).toBe(5);
    expect(c.syncIntervalMs).toBe(500);
    expect(c.dns.zones).toEqual(['x.internal']);
  });

  it('refuses unknown keys and unreadable files', () => {
    expect(errorsOf({ BERTH_CONFIG: '/x.json' }, '{"BERTH_DNS_TLL": 3}')).toEqual(['BERTH_CONFIG (/x.json): unknown key "BERTH_DNS_TLL"']);
    expect(errorsOf({ BERTH_CONFIG: '/x.json' })[0]).toMatch(/^BERTH_CONFIG: cannot read \/x.json: ENOENT/);
    expect(errorsOf({ BERTH_CONFIG: '/x.json' }, 'not json')[0]).toMatch(/^BERTH_CONFIG: cannot read/);
  });

  it('requires Basic credentials in pairs and not mixed with a token', () => {
    expect(errorsOf({ BERTH_MARATHON_USERNAME: 'u' })).toEqual(['BERTH_MARATHON_USERNAME/BERTH_MARATHON_PASSWORD: set both or neither']);
    expect(errorsOf({ BERTH_MARATHON_USERNAME: 'u', BERTH_MARATHON_PASSWORD: 'p', BERTH_MARATHON_TOKEN: 't' })).toHaveLength(1);
  });

  describe('API tokens, origins and hosts', () => {
    const TOKEN = 'release-pipeline-0123456789';

    it('accepts a list of tokens, and treats an empty variable as unset', () => {
      expect(loadConfig({ BERTH_API_TOKENS: ` ${TOKEN} , other-token-abcdefgh ` }).apiTokens).toEqual([TOKEN, 'other-token-abcdefgh']);
      expect(loadConfig({ BERTH_API_TOKENS: '' }).apiTokens).toEqual([]);
    });

    it.each([
      [' , ', /^BERTH_API_TOKENS: entry 1 of 2 is empty/],
      [' ', /^BERTH_API_TOKENS: entry 1 of 1 is empty/],
      [`${TOKEN},,${TOKEN}x`, /^BERTH_API_TOKENS: entry 2 of 3 is empty/],
      [`${TOKEN},`, /^BERTH_API_TOKENS: entry 2 of 2 is empty/],
      [`,${TOKEN}`, /^BERTH_API_TOKENS: entry 1 of 2 is empty/],
      ['short', /^BERTH_API_TOKENS: a token must be at least 16 characters, got 5$/],
      [`${TOKEN},tiny`, /^BERTH_API_TOKENS: entry 2: a token must be at least 16/],
      ['release pipeline 0123456789', /^BERTH_API_TOKENS: a token may hold only letters/],
      ['release"pipeline"0123456789', /^BERTH_API_TOKENS: a token may hold only letters/],
      ['release\u0000pipeline0123456789', /^BERTH_API_TOKENS: a token may hold only letters/],
    ])('refuses BERTH_API_TOKENS=%j at start-up, naming the variable', (value, why) => {
      const problems = errorsOf({ BERTH_API_TOKENS: value, BERTH_DNS_TTL: 'x' });
      // Reported together with every other bad key, and never echoing a token.
      expect(problems).toHaveLength(2);
      expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(why), expect.stringMatching(/^BERTH_DNS_TTL: /)]));
      expect(problems.join('\n')).not.toContain('pipeline');
    });

    it('refuses a JSON token list with an empty entry in the config file', () => {
      expect(errorsOf({ BERTH_CONFIG: '/x.json' }, JSON.stringify({ BERTH_API_TOKENS: [TOKEN, ''] }))).toEqual([
        expect.stringMatching(/^BERTH_API_TOKENS: entry 2 of 2 is empty/),
      ]);
    });

    it('parses allowed origins and host names, and refuses malformed or empty entries', () => {
      const c = loadConfig({
        BERTH_API_ALLOWED_ORIGINS: 'https://Ops.Example.com, http://localhost:3000/',
        BERTH_API_ALLOWED_HOSTS: 'Berth.Example.Internal,berth-1',
      });
      expect(c.apiAllowedOrigins).toEqual(['https://ops.example.com', 'http://localhost:3000']);
      expect(c.apiAllowedHosts).toEqual(['berth.example.internal', 'berth-1']);
      const problems = errorsOf({ BERTH_API_ALLOWED_ORIGINS: 'null', BERTH_API_ALLOWED_HOSTS: 'berth.example:8080' });
      expect(problems).toEqual([
        expect.stringMatching(/^BERTH_API_ALLOWED_ORIGINS: must be an origin/),
        expect.stringMatching(/^BERTH_API_ALLOWED_HOSTS: must be a host name/),
      ]);
      expect(errorsOf({ BERTH_API_ALLOWED_ORIGINS: 'https://a.example/path' })).toEqual([
        expect.stringMatching(/^BERTH_API_ALLOWED_ORIGINS: must be an origin/),
      ]);
      expect(errorsOf({ BERTH_API_ALLOWED_HOSTS: 'a.example,' })).toEqual([expect.stringMatching(/^BERTH_API_ALLOWED_HOSTS: entry 2 of 2 is empty/)]);
    });

    it('reads the audit retention and refuses negative or non-integer values', () => {
      expect(loadConfig({ BERTH_AUDIT_RETENTION_DAYS: '0', BERTH_AUDIT_MAX_ROWS: '5000', BERTH_AUDIT_PRUNE_INTERVAL_MS: '1000' }).auditRetention).toEqual({
        days: 0,
        maxRows: 5000,
        intervalMs: 1000,
      });
      expect(errorsOf({ BERTH_AUDIT_RETENTION_DAYS: '-1', BERTH_AUDIT_MAX_ROWS: '1e6', BERTH_AUDIT_PRUNE_INTERVAL_MS: '10' })).toEqual([
        expect.stringMatching(/^BERTH_AUDIT_RETENTION_DAYS: must be an integer/),
        expect.stringMatching(/^BERTH_AUDIT_MAX_ROWS: must be an integer/),
        expect.stringMatching(/^BERTH_AUDIT_PRUNE_INTERVAL_MS: must be an integer ≥ 1000/),
      ]);
    });
  });
});
