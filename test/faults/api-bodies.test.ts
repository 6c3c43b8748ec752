/**
 * Oversized and malformed request bodies on the allocation, pool and sync routes of a whole berth
 * (on real PostgreSQL): each gets a clear `{code, message}` error with the right status, nothing
 * changes in the database, and the server keeps serving (a good request after every bad one).
 */
import http from 'node:http';
import { createPgDatabase } from '../support/db';
import { FaultLog } from './record';
import { startStack, type Stack } from './stack';

jest.setTimeout(120_000);
const log = new FaultLog('api-bodies');
let s: Stack;
let pg: { url: string; drop: () => Promise<void> };

interface Sent {
  status: number;
  body: { code?: string; message?: string } | null;
  text: string;
}

/** A request with exact control over headers and bytes (chunked when `chunks` is given). */
function raw(method: string, path: string, headers: Record<string, string>, body?: string | Buffer, chunks?: Buffer[]): Promise<Sent> {
  const u = new URL(s.berth.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method, path, headers }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        let parsed: Sent['body'] = null;
        try {
          parsed = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode!, body: parsed, text });
      });
    });
    req.on('error', reject);
    if (chunks) for (const c of chunks) req.write(c);
    else if (body !== undefined) req.write(body);
    req.end();
  });
}

const JSON_CT = { 'content-type': 'application/json' };
const deep = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
const MIB = 1 << 20;

interface Case {
  name: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  chunks?: Buffer[];
  status: number;
  code: string;
}

const ALLOC = '/v1/pools/p/allocations';
const CASES: Case[] = [
  // Size
  {
    name: 'body over 1 MiB (Content-Length)',
    method: 'POST',
    path: ALLOC,
    body: JSON.stringify({ appId: '/big/app', ip: 'x'.repeat(MIB) }),
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
  },
  {
    name: 'body over 1 MiB (chunked, no length)',
    method: 'POST',
    path: ALLOC,
    chunks: Array.from({ length: 20 }, () => Buffer.alloc(64 * 1024, 0x20)),
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
  },
  {
    name: '8 MiB pool definition',
    method: 'POST',
    path: '/v1/pools',
    body: JSON.stringify({ name: 'huge', cidr: '10.9.0.0/24', reserved: Array(400_000).fill('10.9.0.5') }),
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
  },
  { name: 'sync route, body over 1 MiB', method: 'POST', path: '/v1/sync/nginx', body: `{"x":"${'y'.repeat(MIB)}"}`, status: 413, code: 'PAYLOAD_TOO_LARGE' },
  // Syntax and media type
  { name: 'invalid JSON', method: 'POST', path: ALLOC, body: '{"appId":', status: 400, code: 'BAD_REQUEST' },
  { name: 'empty body with a JSON content type', method: 'POST', path: ALLOC, body: '', status: 400, code: 'BAD_REQUEST' },
  {
    name: 'text/plain',
    method: 'POST',
    path: ALLOC,
    headers: { 'content-type': 'text/plain' },
    body: '{"appId":"/a/b"}',
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    name: 'form encoded',
    method: 'POST',
    path: ALLOC,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'appId=/a/b',
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  { name: 'no content type', method: 'POST', path: ALLOC, headers: {}, body: '{"appId":"/a/b"}', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  {
    name: 'multipart',
    method: 'POST',
    path: '/v1/pools',
    headers: { 'content-type': 'multipart/form-data; boundary=x' },
    body: '--x\r\n\r\nname=p\r\n--x--',
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    name: '__proto__ key (prototype poisoning)',
    method: 'POST',
    path: ALLOC,
    body: '{"appId":"/a/b","__proto__":{"admin":true}}',
    status: 400,
    code: 'BAD_REQUEST',
  },
  { name: 'nested 100,000 levels (allocation)', method: 'POST', path: ALLOC, body: `{"appId":"/a/b","ip":${deep(100_000)}}`, status: 400, code: 'BAD_REQUEST' },
  {
    name: 'nested 100,000 levels (app definition, extra fields pass through)',
    method: 'POST',
    path: '/v1/apps/prepare',
    body: `{"id":"/deep/app","env":${deep(100_000)}}`,
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    name: 'nested 5,000 levels (app definition)',
    method: 'POST',
    path: '/v1/apps/prepare',
    body: `{"id":"/deep/app","env":${deep(5000)}}`,
    status: 400,
    code: 'BAD_REQUEST',
  },
  // Shape and types
  { name: 'unknown field', method: 'POST', path: ALLOC, body: '{"appId":"/a/b","color":"red"}', status: 400, code: 'BAD_REQUEST' },
  {
    name: 'unknown nested field',
    method: 'POST',
    path: '/v1/pools',
    body: '{"name":"u","cidr":"10.8.0.0/24","allocationRange":{"first":"10.8.0.1","last":"10.8.0.9","x":1}}',
    status: 400,
    code: 'BAD_REQUEST',
  },
  { name: 'appId as a one-element array', method: 'POST', path: ALLOC, body: '{"appId":["/array/app"]}', status: 400, code: 'BAD_REQUEST' },
  { name: 'appId as a number', method: 'POST', path: ALLOC, body: '{"appId":123}', status: 400, code: 'BAD_REQUEST' },
  { name: 'appId null', method: 'POST', path: ALLOC, body: '{"appId":null}', status: 400, code: 'BAD_REQUEST' },
  { name: 'appId as an object', method: 'POST', path: ALLOC, body: '{"appId":{"id":"/a/b"}}', status: 400, code: 'BAD_REQUEST' },
  { name: 'pool name as an array', method: 'POST', path: '/v1/pools', body: '{"name":["arr"],"cidr":"10.7.0.0/24"}', status: 400, code: 'BAD_REQUEST' },
  { name: 'body is an array', method: 'POST', path: ALLOC, body: '[{"appId":"/a/b"}]', status: 400, code: 'BAD_REQUEST' },
  { name: 'body is a string', method: 'POST', path: ALLOC, body: '"/a/b"', status: 400, code: 'BAD_REQUEST' },
  { name: 'force as a number (sync)', method: 'POST', path: '/v1/sync', body: '{"force":1}', status: 400, code: 'BAD_REQUEST' },
  { name: 'unknown field (sync)', method: 'POST', path: '/v1/sync/nginx', body: '{"now":true}', status: 400, code: 'BAD_REQUEST' },
  { name: 'array body (sync release)', method: 'POST', path: '/v1/sync/release', body: '[1]', status: 400, code: 'BAD_REQUEST' },
  { name: 'unknown field (registry release)', method: 'POST', path: '/v1/registry/release', body: '{"all":true}', status: 400, code: 'BAD_REQUEST' },
  // Numbers
  {
    name: 'huge number (1e400 → Infinity)',
    method: 'POST',
    path: '/v1/pools',
    body: '{"name":"n1","cidr":"10.6.0.0/24","quarantineSeconds":1e400}',
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    name: 'number past 2^64',
    method: 'POST',
    path: '/v1/pools',
    body: '{"name":"n2","cidr":"10.6.0.0/24","quarantineSeconds":99999999999999999999999}',
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    name: 'negative number',
    method: 'POST',
    path: '/v1/pools',
    body: '{"name":"n3","cidr":"10.6.0.0/24","quarantineSeconds":-1}',
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    name: 'fraction for an integer',
    method: 'POST',
    path: '/v1/pools',
    body: '{"name":"n4","cidr":"10.6.0.0/24","quarantineSeconds":1.5}',
    status: 400,
    code: 'BAD_REQUEST',
  },
  { name: 'number as ip', method: 'PUT', path: '/v1/pools/p/allocations/%2Fa%2Fb', body: '{"ip":167772161}', status: 400, code: 'BAD_REQUEST' },
  {
    name: 'huge allocationId in the query',
    method: 'DELETE',
    path: '/v1/pools/p/allocations/%2Fkeep%2Fapp?allocationId=99999999999999999999999',
    status: 400,
    code: 'BAD_REQUEST',
  },
  { name: 'huge page cursor (events)', method: 'GET', path: '/v1/pools/p/events?before=1e30', status: 400, code: 'BAD_REQUEST' },
  { name: 'huge page cursor (sync runs)', method: 'GET', path: '/v1/sync/runs?before=99999999999999999999', status: 400, code: 'BAD_REQUEST' },
  // Long strings and hostile ids
  {
    name: '100,000-character app id',
    method: 'POST',
    path: ALLOC,
    body: JSON.stringify({ appId: `/${'a'.repeat(100_000)}` }),
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    name: '5,000-character pool name',
    method: 'POST',
    path: '/v1/pools',
    body: JSON.stringify({ name: 'q'.repeat(5000), cidr: '10.5.0.0/24' }),
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    name: '1,000-character cidr',
    method: 'POST',
    path: '/v1/pools',
    body: JSON.stringify({ name: 'c', cidr: '1'.repeat(1000) }),
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    name: 'path traversal in the app id (URL)',
    method: 'PUT',
    path: '/v1/pools/p/allocations/..%2F..%2Fetc%2Fpasswd',
    body: '{}',
    status: 400,
    code: 'INVALID_APP_ID',
  },
  { name: 'dot segments inside the app id', method: 'PUT', path: '/v1/pools/p/allocations/%2Fa%2F..%2Fb', body: '{}', status: 400, code: 'INVALID_APP_ID' },
  { name: 'path traversal in the app id (body)', method: 'POST', path: ALLOC, body: '{"appId":"/../../etc/passwd"}', status: 400, code: 'INVALID_APP_ID' },
  {
    name: 'path traversal in the pool name',
    method: 'PUT',
    path: '/v1/pools/..%2F..%2Fetc/allocations/%2Fa%2Fb',
    body: '{}',
    status: 400,
    code: 'BAD_REQUEST',
  },
  { name: 'NUL byte in the app id', method: 'PUT', path: '/v1/pools/p/allocations/%2Fa%00b', body: '{}', status: 400, code: 'INVALID_APP_ID' },
  { name: 'uppercase and spaces in the app id', method: 'POST', path: ALLOC, body: '{"appId":"/Team/My App"}', status: 400, code: 'INVALID_APP_ID' },
  { name: 'SQL in the app id', method: 'POST', path: ALLOC, body: `{"appId":"/a'; drop table ipam_address; --"}`, status: 400, code: 'INVALID_APP_ID' },
  { name: 'pool name ../etc', method: 'POST', path: '/v1/pools', body: '{"name":"../etc","cidr":"10.4.0.0/24"}', status: 400, code: 'BAD_REQUEST' },
  {
    name: 'app definition id ../../x',
    method: 'POST',
    path: '/v1/apps/prepare',
    body: '{"id":"../../x","labels":{"berth.ip":"auto"}}',
    status: 400,
    code: 'INVALID_APP_ID',
  },
];

/** What must not change: every IPAM table, as rows. */
async function dbState(): Promise<unknown> {
  const k = s.berth.db.knex;
  return {
    pools: (await k.raw(`select name, host(cidr) as cidr, quarantine_seconds, reserved from ipam_pool order by name`)).rows,
    held: (await k.raw(`select host(ip) as ip, owner, allocation_id, state from ipam_address where state <> 'free' order by ip`)).rows,
    events: (await k.raw(`select count(*)::int as n, max(id) as last from ipam_event`)).rows[0],
  };
}

beforeAll(async () => {
  pg = await createPgDatabase();
  s = await startStack({ env: { BERTH_DATABASE_URL: pg.url } });
  expect((await s.api('POST', '/v1/pools', { name: 'p', cidr: '10.3.0.0/24' })).status).toBe(201);
  expect((await s.api('POST', ALLOC, { appId: '/keep/app' })).status).toBe(201);
}, 60_000);

afterAll(async () => {
  log.flush();
  await s?.stop();
  await pg?.drop();
});

it('oversized and malformed bodies: a clear 4xx {code,message} each, nothing changed in the database, the server keeps serving', async () => {
  const before = await dbState();
  const seen: string[] = [];
  const wrong: unknown[] = [];
  for (const c of CASES) {
    const headers = c.headers ?? JSON_CT;
    const r = await raw(c.method, c.path, c.chunks ? { ...headers, 'transfer-encoding': 'chunked' } : headers, c.body, c.chunks);
    const clear = typeof r.body?.code === 'string' && typeof r.body?.message === 'string' && r.body.message.length > 0 && r.body.message.length < 400;
    if (r.status !== c.status || r.body?.code !== c.code || !clear) wrong.push({ case: c.name, status: r.status, body: r.text.slice(0, 200) });
    seen.push(`${c.status}`);
    // The server keeps serving between bad requests.
    const ok = await s.api<{ name: string }>('GET', '/v1/pools/p');
    if (ok.status !== 200) wrong.push({ case: `${c.name}: GET after it`, status: ok.status });
  }
  expect(wrong).toEqual([]);
  expect(await dbState()).toEqual(before);
  // 20 oversized bodies at once, then a normal allocation.
  const t0 = Date.now();
  const burst = await Promise.all(
    Array.from({ length: 20 }, () => raw('POST', ALLOC, JSON_CT, JSON.stringify({ appId: '/big/app', ip: 'x'.repeat(2 * MIB) }))),
  );
  expect(burst.map((r) => r.status)).toEqual(Array(20).fill(413));
  const good = await s.api<{ ip: string }>('POST', ALLOC, { appId: '/after/app' });
  expect(good.status).toBe(201);
  const counts = [...seen.reduce((m, st) => m.set(st, (m.get(st) ?? 0) + 1), new Map<string, number>())].map(([st, n]) => `${n} × ${st}`).join(', ');
  log.add({
    fault: `oversized and malformed API bodies (${CASES.length} kinds on allocation, pool, app and sync routes, + 20 × 2 MiB at once)`,
    during: `each answered with {code, message}: ${counts} (413 PAYLOAD_TOO_LARGE, 415 UNSUPPORTED_MEDIA_TYPE, 400 BAD_REQUEST/INVALID_APP_ID); wrong types are refused, not coerced; bodies nested past 64 levels refused before parsing`,
    after: `database unchanged (pools, addresses, audit trail); the server answered a good request after each bad one, and a new allocation ${Date.now() - t0} ms after the burst`,
    recoveryMs: null,
    recoveryFrom: 'n/a (no interruption)',
  });
});
