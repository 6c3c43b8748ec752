/**
 * `/readyz` tells the truth (a whole berth against the Marathon simulator): each check goes 503,
 * named in the body with its reason, while its part is broken, and back to 200 after recovery.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from '../support/wait';
import { startStack, webApp, ZONE, type Stack } from '../faults/stack';

jest.setTimeout(180_000);

interface Ready {
  ready: boolean;
  checks: Record<string, { ok: boolean; detail?: { reason?: string } & Record<string, unknown> }>;
}

const readyz = async (s: Stack) => s.api<Ready>('GET', '/readyz');
/** Waits for /readyz to answer `status`; returns the body. */
const readyzIs = async (s: Stack, status: number, timeoutMs = 30_000) =>
  (await waitFor(
    async () => {
      const r = await readyz(s);
      return r.status === status && r.body;
    },
    timeoutMs,
    () => `waiting for /readyz ${status}`,
  )) as Ready;
const failing = (b: Ready) =>
  Object.entries(b.checks)
    .filter(([, c]) => !c.ok)
    .map(([name]) => name);

describe('readiness: marathon', () => {
  let s: Stack;
  afterEach(async () => s?.stop());

  it('is 503 naming marathon once /v2/apps has failed for longer than the bound, 200 again after Marathon recovers', async () => {
    s = await startStack({ env: { BERTH_MARATHON_FAILURE_GRACE_MS: '1500', BERTH_RESYNC_INTERVAL_MS: '1000' } });
    await s.sim.control.deploy(webApp('r', 1));
    await readyzIs(s, 200);
    const clear = s.sim.control.fault({ kind: 'status', status: 503, path: '/v2/apps' });
    const down = await readyzIs(s, 503);
    expect(failing(down)).toEqual(['marathon']);
    expect(down.checks.marathon.detail).toMatchObject({ snapshot: true, reason: expect.stringContaining('Marathon snapshots have failed') });
    expect(down.checks.marathon.detail?.lastError).toBeTruthy();
    clear();
    const up = await readyzIs(s, 200);
    expect(up.checks.marathon).toMatchObject({ ok: true, detail: { consecutiveFailures: 0 } });
  });

  it('a short failure inside the bound keeps it ready', async () => {
    s = await startStack({ env: { BERTH_MARATHON_FAILURE_GRACE_MS: '60000', BERTH_RESYNC_INTERVAL_MS: '1000' } });
    await readyzIs(s, 200);
    const clear = s.sim.control.fault({ kind: 'status', status: 503, path: '/v2/apps' });
    await waitFor(async () => ((await readyz(s)).body.checks.marathon.detail?.consecutiveFailures as number) >= 2, 20_000);
    expect((await readyz(s)).status).toBe(200);
    clear();
  });
});

describe('readiness: dns', () => {
  let s: Stack;
  afterEach(async () => s?.stop());

  it('is 503 naming dns while the zones would be answered SERVFAIL (Marathon never answered), 200 once loaded', async () => {
    let clear = () => undefined as void;
    s = await startStack({
      urls: (sim) => {
        clear = sim.control.fault({ kind: 'status', status: 503, path: '/v2/apps' });
        return [sim.url];
      },
    });
    const down = await readyzIs(s, 503);
    expect(failing(down)).toContain('dns');
    expect(down.checks.dns.detail?.reason).toContain('SERVFAIL');
    const q = await s.dns.query(`nothing.${ZONE}`, 1, 1000);
    expect(q?.rcode).toBe(2); // SERVFAIL, as the check said
    clear();
    const up = await readyzIs(s, 200);
    expect(up.checks.dns.ok).toBe(true);
    expect((await s.dns.query(`nothing.${ZONE}`, 1, 1000))?.rcode).toBe(3); // NXDOMAIN: authoritative now
  });

  it('API-only mode (no BERTH_MARATHON_URLS): the database state is served, so DNS answers its zones and /readyz is 200 honestly', async () => {
    s = await startStack({ urls: () => [] });
    const up = await readyzIs(s, 200);
    expect(up.checks.dns).toMatchObject({ ok: true });
    expect(up.checks.marathon).toBeUndefined();
    expect((await s.dns.query(`nothing.${ZONE}`, 1, 1000))?.rcode).toBe(3);
  });
});

describe('readiness: nginx', () => {
  let s: Stack;
  afterEach(async () => s?.stop());

  it('is 503 naming nginx and the failed run while the test command fails, 200 after a run applies', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-ready-'));
    const broken = path.join(tmp, 'broken');
    s = await startStack({ env: { BERTH_NGINX_TEST_CMD: `test ! -e ${broken}` } });
    await s.sim.control.deploy(webApp('n', 1));
    await waitFor(() => s.files().length === 1, 30_000);
    await readyzIs(s, 200);
    fs.writeFileSync(broken, '');
    await s.sim.control.deploy(webApp('m', 1));
    const down = await readyzIs(s, 503);
    expect(failing(down)).toEqual(['nginx']);
    expect(down.checks.nginx.detail).toMatchObject({ reason: 'the latest Nginx sync run failed', lastRun: { status: 'failed', id: expect.any(Number) } });
    fs.rmSync(broken);
    const up = await readyzIs(s, 200);
    expect(up.checks.nginx.detail).toMatchObject({ lastRun: { status: 'applied' } });
    expect(s.files()).toHaveLength(2);
    fs.rmSync(tmp, { recursive: true, force: true });
  });
});
