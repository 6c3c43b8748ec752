/**
 * Found by test/faults/api-bodies.test.ts: an id-like query integer past 2^53 (`?before=1e30`,
 * `?allocationId=99999999999999999999999`) passed `type: integer` and reached PostgreSQL, which
 * refused it as a bigint: 500 INTERNAL. Such ids are now bounded in the schema: 400.
 */
import { InMemorySyncRunStore } from '../../src/nginx/store';
import { registerSyncRoutes, type NginxSyncApi } from '../../src/http/routes/sync';
import { MAX_ID } from '../../src/http/schemas';
import { testApp } from '../support/app';

it('a page cursor beyond 2^53 - 1 is a 400, the largest safe one is accepted', async () => {
  const syncRuns = new InMemorySyncRunStore();
  const app = await testApp((a) => registerSyncRoutes(a, { nginxSync: {} as NginxSyncApi, syncRuns }));
  for (const before of ['1e30', '99999999999999999999', String(MAX_ID + 2)]) {
    const r = await app.inject({ method: 'GET', url: `/v1/sync/runs?before=${before}` });
    expect({ before, status: r.statusCode, code: r.json().code }).toEqual({ before, status: 400, code: 'BAD_REQUEST' });
  }
  expect((await app.inject({ method: 'GET', url: `/v1/sync/runs?before=${MAX_ID}` })).statusCode).toBe(200);
  await app.close();
});
