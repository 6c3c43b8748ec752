/**
 * Issue 16: a browser page on another origin, or a DNS-rebound name, cannot use berth's tokenless
 * trust; local tools (no Origin, an IP or localhost in Host) and token holders keep working.
 */
import os from 'node:os';
import type { FastifyInstance } from 'fastify';
import { hostOf } from '../../src/http/browser-guard';
import { testApp } from '../support/app';

const TOKEN = 'release-pipeline-0123456789';

function routes(app: FastifyInstance): void {
  // Body-less write, like POST /v1/sync.
  app.post('/v1/poke', async () => ({ poked: true }));
  app.get('/v1/data', async () => ({ secret: 'pools and services' }));
}

describe('browser and DNS-rebinding protection', () => {
  let open: FastifyInstance;
  let secured: FastifyInstance;
  beforeAll(async () => {
    open = await testApp(routes, { allowedOrigins: ['https://ops.example.com'], allowedHosts: ['berth.example.internal'] });
    secured = await testApp(routes, { apiTokens: [TOKEN] });
  });
  afterAll(async () => {
    await open.close();
    await secured.close();
  });

  const poke = (app: FastifyInstance, headers: Record<string, string> = {}, remoteAddress = '127.0.0.1') =>
    app.inject({ method: 'POST', url: '/v1/poke', headers, remoteAddress });
  const read = (app: FastifyInstance, headers: Record<string, string> = {}, url = '/v1/data') => app.inject({ method: 'GET', url, headers });

  it('refuses a body-less loopback POST from a page on another origin, and accepts the same POST from a local tool', async () => {
    const browser = await poke(open, { origin: 'https://evil.example' });
    expect(browser.statusCode).toBe(403);
    expect(browser.json()).toMatchObject({
      code: 'ORIGIN_NOT_ALLOWED',
      message: expect.stringContaining('BERTH_API_ALLOWED_ORIGINS'),
      details: { origin: 'https://evil.example' },
    });
    const tool = await poke(open);
    expect([tool.statusCode, tool.json()]).toEqual([200, { poked: true }]);
  });

  it.each([
    ['a sandboxed page (Origin: null)', { origin: 'null' }],
    ['another port on localhost', { origin: 'http://localhost:3000' }],
    ['a page on another port of the address berth is called by', { origin: 'http://127.0.0.1:3000', host: '127.0.0.1:8080' }],
    [
      "berth's own origin on a request the browser marks cross-site (a redirect)",
      { origin: 'http://127.0.0.1:8080', host: '127.0.0.1:8080', 'sec-fetch-site': 'cross-site' },
    ],
    ["berth's own origin on a request the browser marks same-site", { origin: 'http://127.0.0.1:8080', host: '127.0.0.1:8080', 'sec-fetch-site': 'same-site' }],
    ['two Origin values folded into one', { origin: 'https://ops.example.com, https://evil.example' }],
    ['a browser that sends only Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }],
    ['a browser that sends only Sec-Fetch-Site: same-site', { 'sec-fetch-site': 'same-site' }],
  ])('refuses %s with ORIGIN_NOT_ALLOWED, on writes and reads', async (_what, headers) => {
    expect((await poke(open, headers)).json().code).toBe('ORIGIN_NOT_ALLOWED');
    expect((await read(open, headers)).json().code).toBe('ORIGIN_NOT_ALLOWED');
  });

  it('accepts a listed origin, and same-origin or user-typed browser requests', async () => {
    expect((await poke(open, { origin: 'https://OPS.example.com' })).statusCode).toBe(200);
    expect((await poke(open, { 'sec-fetch-site': 'same-origin' })).statusCode).toBe(200);
    expect((await read(open, { 'sec-fetch-site': 'none' })).statusCode).toBe(200);
  });

  it("accepts berth's own pages (the dashboard): Chromium sends Origin on same-origin module scripts and writes", async () => {
    const sameOrigin = { origin: 'http://127.0.0.1:8080', host: '127.0.0.1:8080', 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors' };
    expect((await read(open, { ...sameOrigin, 'sec-fetch-dest': 'script' }, '/v1/data')).statusCode).toBe(200);
    expect((await poke(open, { ...sameOrigin, 'sec-fetch-dest': 'empty' })).statusCode).toBe(200);
    // Older browsers send no Sec-Fetch-Site; an https page behind a TLS-terminating proxy is still ours.
    expect((await poke(open, { origin: 'http://LOCALHOST:8080', host: 'localhost:8080' })).statusCode).toBe(200);
    expect((await poke(open, { origin: 'https://berth.example.internal', host: 'berth.example.internal' })).statusCode).toBe(200);
  });

  it('refuses a DNS-rebound page even though its Origin matches Host', async () => {
    const rebound = await poke(open, { origin: 'http://evil.example:8080', host: 'evil.example:8080', 'sec-fetch-site': 'same-origin' });
    expect([rebound.statusCode, rebound.json().code]).toEqual([403, 'HOST_NOT_ALLOWED']);
  });

  it.each(['evil.example:8080', 'evil.example', 'localhost.', '127.0.0.1.nip.io:8080', 'user@127.0.0.1:8080', '127.0.0.1:8080/x', '[evil]:80', 'a b'])(
    'refuses Host %j with HOST_NOT_ALLOWED, on reads as well as writes',
    async (host) => {
      const w = await poke(open, { host });
      expect(w.statusCode).toBe(403);
      expect(w.json()).toMatchObject({ code: 'HOST_NOT_ALLOWED', message: expect.stringContaining('BERTH_API_ALLOWED_HOSTS') });
      const r = await read(open, { host });
      expect([r.statusCode, r.json().code]).toEqual([403, 'HOST_NOT_ALLOWED']);
      expect(r.body).not.toContain('pools and services');
    },
  );

  it.each([
    '127.0.0.1:8080',
    '127.0.0.1',
    '[::1]:8080',
    '10.1.2.3:8080',
    '[fd00::5]',
    'localhost:80',
    'LOCALHOST:8080',
    'berth.example.internal:8080',
    'Berth.Example.Internal',
  ])('accepts Host %j (IP literals cannot be rebound; localhost and listed names are ours)', async (host) => {
    expect((await poke(open, { host })).statusCode).toBe(200);
    expect((await read(open, { host })).statusCode).toBe(200);
  });

  it("accepts this machine's own name", async () => {
    const named = await testApp(routes, { allowedHosts: [] });
    expect((await read(named, { host: `${os.hostname()}:8080` })).statusCode).toBe(200);
    await named.close();
  });

  it('leaves probes alone: health checkers use any name', async () => {
    for (const url of ['/healthz', '/readyz', '/metrics']) {
      expect({ url, status: (await read(open, { host: 'agent-7.mesos:31000' }, url)).statusCode }).toEqual({ url, status: 200 });
    }
    expect((await read(open, { host: 'agent-7.mesos:31000' }, '/v1/openapi.json')).statusCode).toBe(403);
  });

  it('a valid token lifts the Origin and Host rules; a wrong or missing one does not', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    expect((await poke(secured, { ...auth, origin: 'https://evil.example', host: 'evil.example' }, '10.1.2.3')).statusCode).toBe(200);
    expect((await read(secured, { ...auth, host: 'evil.example' })).statusCode).toBe(200);
    expect((await read(secured, { authorization: `Bearer ${TOKEN}x`, host: 'evil.example' })).json().code).toBe('HOST_NOT_ALLOWED');
    expect((await read(secured, { host: 'evil.example' })).json().code).toBe('HOST_NOT_ALLOWED');
    // A write without the token is refused for the token first (the fix is to send it).
    expect((await poke(secured, { origin: 'https://evil.example' })).json().code).toBe('UNAUTHORIZED');
  });

  it('keeps the network rule first: a tokenless write from another host is FORBIDDEN whatever its headers', async () => {
    expect((await poke(open, { origin: 'https://ops.example.com' }, '10.1.2.3')).json().code).toBe('FORBIDDEN');
  });
});

describe('hostOf', () => {
  it.each([
    ['127.0.0.1:8080', '127.0.0.1'],
    ['[::1]:8080', '::1'],
    ['[::1]', '::1'],
    ['Berth.Example:1', 'berth.example'],
    ['[not-v6]:80', null],
    ['a@b', null],
    ['a:b:c', null],
    ['', null],
  ])('%j → %j', (header, host) => expect(hostOf(header)).toBe(host));
});
