/**
 * Hostile API requests against a whole berth on real PostgreSQL (issue 16): a browser page on
 * another origin, a DNS-rebound name and absurd pool CIDRs. Each gets a clear `{code, message}`
 * refusal, nothing changes in the database, and Marathon apps keep converging meanwhile.
 */
import http from 'node:http';
import { createPgDatabase } from '../support/db';
import { waitFor } from '../support/wait';
import { FaultLog } from './record';
import { startStack, webApp, ZONE, type Stack } from './stack';

jest.setTimeout(120_000);
const log = new FaultLog('hostile-api');
let s: Stack;
let pg: { url: string; drop: () => Promise<void> };

interface Sent {
  status: number;
  body: { code?: string; message?: string } | null;
}

/** A request with exact control over Host, Origin and the other headers a browser would send. */
function raw(method: string, path: string, headers: Record<string, string>, body?: string): Promise<Sent> {
  const u = new URL(s.berth.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method, path, headers, setHost: !('host' in headers) }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        let parsed: Sent['body'] = null;
        try {
          parsed = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode!, body: parsed });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const JSON_CT = { 'content-type': 'application/json' };
const rebound = () => `rebind.evil.example:${new URL(s.berth.url).port}`;

interface Case {
  name: string;
  method: string;
  path: string;
  headers: () => Record<string, string>;
  body?: unknown;
  status: number;
  code: string;
}

const CASES: Case[] = [
  // A page on another site, through the visitor's browser on the berth host (loopback, no token).
  {
    name: 'body-less cross-origin POST /v1/sync',
    method: 'POST',
    path: '/v1/sync',
    headers: () => ({ origin: 'https://evil.example' }),
    status: 403,
    code: 'ORIGIN_NOT_ALLOWED',
  },
  {
    name: 'cross-origin allocation',
    method: 'POST',
    path: '/v1/pools/good/allocations',
    headers: () => ({ ...JSON_CT, origin: 'http://localhost:3000' }),
    body: { appId: '/evil/app' },
    status: 403,
    code: 'ORIGIN_NOT_ALLOWED',
  },
  {
    name: 'sandboxed page (Origin: null) deleting a pool',
    method: 'DELETE',
    path: '/v1/pools/good?force=true',
    headers: () => ({ origin: 'null' }),
    status: 403,
    code: 'ORIGIN_NOT_ALLOWED',
  },
  {
    name: 'Sec-Fetch-Site: cross-site without Origin',
    method: 'PUT',
    path: '/v1/pools/good/allocations/%2Fevil%2Fapp',
    headers: () => ({ 'sec-fetch-site': 'cross-site' }),
    status: 403,
    code: 'ORIGIN_NOT_ALLOWED',
  },
  // DNS rebinding: the attacker's name now points at 127.0.0.1, so requests are same-origin.
  { name: 'rebound name reading pools', method: 'GET', path: '/v1/pools', headers: () => ({ host: rebound() }), status: 403, code: 'HOST_NOT_ALLOWED' },
  {
    name: 'rebound name reading services',
    method: 'GET',
    path: `/v1/services?env=default`,
    headers: () => ({ host: rebound() }),
    status: 403,
    code: 'HOST_NOT_ALLOWED',
  },
  {
    name: 'rebound name creating a pool',
    method: 'POST',
    path: '/v1/pools',
    headers: () => ({ ...JSON_CT, host: rebound() }),
    body: { name: 'evil', cidr: '10.34.0.0/24' },
    status: 403,
    code: 'HOST_NOT_ALLOWED',
  },
  {
    name: 'rebound name releasing an allocation',
    method: 'DELETE',
    path: '/v1/pools/good/allocations/%2Fkeep%2Fapp',
    headers: () => ({ host: rebound() }),
    status: 403,
    code: 'HOST_NOT_ALLOWED',
  },
  // Absurd pools.
  {
    name: 'pool ::/0',
    method: 'POST',
    path: '/v1/pools',
    headers: () => JSON_CT,
    body: { name: 'all6', cidr: '::/0' },
    status: 400,
    code: 'POOL_CIDR_TOO_WIDE',
  },
  {
    name: 'pool ::/0 with allowSpecial',
    method: 'POST',
    path: '/v1/pools',
    headers: () => JSON_CT,
    body: { name: 'all6', cidr: '::/0', allowSpecial: true, allocationRange: { first: '::1', last: '::ff' } },
    status: 400,
    code: 'POOL_CIDR_TOO_WIDE',
  },
  {
    name: 'pool 127.0.0.0/24',
    method: 'POST',
    path: '/v1/pools',
    headers: () => JSON_CT,
    body: { name: 'lo', cidr: '127.0.0.0/24' },
    status: 400,
    code: 'POOL_CIDR_RESERVED',
  },
  {
    name: 'pool 224.0.0.0/24',
    method: 'POST',
    path: '/v1/pools',
    headers: () => JSON_CT,
    body: { name: 'mc', cidr: '224.0.0.0/24' },
    status: 400,
    code: 'POOL_CIDR_RESERVED',
  },
  {
    name: 'pool 169.254.0.0/16',
    method: 'POST',
    path: '/v1/pools',
    headers: () => JSON_CT,
    body: { name: 'll', cidr: '169.254.0.0/16' },
    status: 400,
    code: 'POOL_CIDR_RESERVED',
  },
  {
    name: 'pool 0.0.0.0/8',
    method: 'POST',
    path: '/v1/pools',
    headers: () => JSON_CT,
    body: { name: 'zero', cidr: '0.0.0.0/8' },
    status: 400,
    code: 'POOL_CIDR_RESERVED',
  },
  {
    name: 'pool fd00::/8',
    method: 'POST',
    path: '/v1/pools',
    headers: () => JSON_CT,
    body: { name: 'ula', cidr: 'fd00::/8' },
    status: 400,
    code: 'POOL_CIDR_TOO_WIDE',
  },
];

async function dbState(): Promise<unknown> {
  const k = s.berth.db.knex;
  return {
    pools: (await k.raw('select name, cidr::text as cidr from ipam_pool order by name')).rows,
    held: (await k.raw(`select host(ip) as ip, owner, allocation_id from ipam_address where state = 'allocated' order by ip`)).rows,
    events: (await k.raw('select count(*)::int as n, max(id) as last from ipam_event')).rows[0],
  };
}

beforeAll(async () => {
  pg = await createPgDatabase();
  s = await startStack({ env: { BERTH_DATABASE_URL: pg.url } });
  await s.sim.control.deploy(webApp('a', 2));
  await waitFor(async () => (await s.srv(`a.${ZONE}`)) === 2, 30_000);
  expect((await s.api('POST', '/v1/pools', { name: 'good', cidr: '10.33.0.0/24' })).status).toBe(201);
  expect((await s.api('POST', '/v1/pools/good/allocations', { appId: '/keep/app' })).status).toBe(201);
}, 60_000);

afterAll(async () => {
  log.flush();
  await s?.stop();
  await pg?.drop();
});

it('cross-origin requests, rebound Host names and absurd pools: a clear 4xx each, nothing changed, apps keep converging', async () => {
  const before = await dbState();
  const snapshots = () => s.sim.control.requestCount('GET /v2/apps');
  const snapshotsBefore = snapshots();
  // Marathon changes while the hostile requests arrive.
  const changes = Promise.all([s.sim.control.scale('/faults/a', 3), s.sim.control.deploy(webApp('b', 1))]);
  const wrong: unknown[] = [];
  for (const c of CASES) {
    const r = await raw(c.method, c.path, c.headers(), c.body === undefined ? undefined : JSON.stringify(c.body));
    const clear = typeof r.body?.message === 'string' && r.body.message.length > 0 && r.body.message.length < 400;
    if (r.status !== c.status || r.body?.code !== c.code || !clear) wrong.push({ case: c.name, status: r.status, body: r.body });
  }
  expect(wrong).toEqual([]);
  await changes;
  const t0 = Date.now();
  await waitFor(async () => (await s.srv(`a.${ZONE}`)) === 3 && (await s.srv(`b.${ZONE}`)) === 1, 30_000);
  const convergedMs = Date.now() - t0;
  expect(await dbState()).toEqual(before);
  // The refused POST /v1/sync took no Marathon snapshot.
  expect(snapshots()).toBe(snapshotsBefore);

  // Local tools keep working: no Origin, an IP or localhost in Host.
  const viaIp = await raw('POST', '/v1/pools/good/allocations', JSON_CT, JSON.stringify({ appId: '/after/app' }));
  expect(viaIp.status).toBe(201);
  const viaLocalhost = await raw('GET', '/v1/pools/good', { host: `localhost:${new URL(s.berth.url).port}` });
  expect(viaLocalhost.status).toBe(200);
  // Probes answer under any name (health checkers use the agent's).
  expect((await raw('GET', '/healthz', { host: rebound() })).status).toBe(200);
  // ::/0 was refused, so an ordinary IPv6 pool is not blocked by it.
  expect((await s.api('POST', '/v1/pools', { name: 'six', cidr: 'fd00:33::/64' })).status).toBe(201);

  log.add({
    fault: `hostile API requests without a token (${CASES.length} kinds): cross-origin browser writes (body-less POST, Origin null, Sec-Fetch-Site cross-site), a DNS-rebound Host reading and writing, pools ::/0, 127.0.0.0/24, 224.0.0.0/24, 169.254.0.0/16, 0.0.0.0/8, fd00::/8`,
    during:
      'each answered with {code, message}: 403 ORIGIN_NOT_ALLOWED, 403 HOST_NOT_ALLOWED, 400 POOL_CIDR_RESERVED / POOL_CIDR_TOO_WIDE (allowSpecial does not lift ::/0); probes still answer under any Host',
    after: `database unchanged (pools, allocations, audit trail), no Marathon snapshot taken; a scale-up and a new app deployed meanwhile were in DNS ${convergedMs} ms after both the deployments and the hostile requests had finished; allocations from local tools and an IPv6 pool work`,
    recoveryMs: null,
    recoveryFrom: 'n/a (no interruption)',
  });
});
