/**
 * Hostile labels against a whole berth on real PostgreSQL (which refuses NUL in text and jsonb):
 * a burst of apps whose labels carry NUL, lone surrogates, terminal escapes and 10 kB values.
 * During: each gets a problem with the value escaped; the apps already published keep answering in
 * DNS. After: a healthy app deployed next is published, i.e. the registry kept writing.
 */
import { createPgDatabase } from '../support/db';
import { waitFor } from '../support/wait';
import { FaultLog } from './record';
import { startStack, webApp, ZONE, type Stack } from './stack';

jest.setTimeout(120_000);
const log = new FaultLog('hostile-labels');
let s: Stack;
let pg: { url: string; drop: () => Promise<void> };

beforeAll(async () => {
  pg = await createPgDatabase();
  s = await startStack({ env: { BERTH_DATABASE_URL: pg.url } });
  await s.sim.control.deploy(webApp('steady', 2));
  await waitFor(async () => (await s.srv(`steady.${ZONE}`)) === 2, 30_000);
}, 60_000);

afterAll(async () => {
  log.flush();
  await s?.stop();
  await pg?.drop();
});

interface Problem {
  code: string;
  appId: string;
  message: string;
}

it('hostile label values become escaped problems; published apps keep answering; the next app is published', async () => {
  const values = ['\u0000', '\ud800', '\u001b]0;pwned\u0007', 'z'.repeat(10_000), '\u0085', '\udfff\ud800'];
  const t0 = Date.now();
  for (const [i, v] of values.entries()) {
    await s.sim.control.deploy(webApp(`bad-${i}`, 1, { labels: { 'berth.domain': `bad-${i}.${ZONE}`, 'berth.env': v } }));
  }
  const problems = await waitFor(async () => {
    const ps = (await s.api<{ problems: Problem[] }>('GET', '/v1/problems')).body.problems.filter((p) => p.code === 'LABEL_INVALID_STRING');
    return ps.length === values.length && ps;
  }, 30_000);
  const raised = Date.now() - t0;
  for (const p of problems) expect(p.message).toMatch(/^[\x20-\x7e…]+$/);
  expect(await s.srv(`steady.${ZONE}`)).toBe(2);

  const t1 = Date.now();
  await s.sim.control.deploy(webApp('next', 1));
  await waitFor(async () => (await s.srv(`next.${ZONE}`)) === 1, 30_000);
  log.add({
    fault: `${values.length} apps with hostile label values (NUL, lone surrogates, escapes, 10 kB)`,
    during: `each listed in /v1/problems as LABEL_INVALID_STRING with the value escaped (all ${values.length} within ${raised} ms); published apps keep answering`,
    after: 'a healthy app deployed next is in DNS',
    recoveryMs: Date.now() - t1,
    recoveryFrom: 'deploy of the next app → DNS',
  });
});
