/**
 * The dashboard in headless Chromium against a real berth: the demo platform (simulated Marathon,
 * 20 apps, the demo pool, a bad app) on the embedded database. Each view shows its data, allocate
 * and release work from the page, a new app appears without a reload, a held snapshot can be
 * released, the token prompt guards everything, and axe-core finds no serious or critical issue.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { loadConfig } from '../../src/config/load';
import { BAD_APP_ID } from '../../src/demo/apps';
import { runDemo, type DemoHandle } from '../../src/demo/run';
import { silentLogger } from '../../src/log';
import { start, type Berth } from '../../src/main';
import { buildUi } from '../../scripts/build-ui';
import { describeWithTools } from '../support/tools';
import { waitFor } from '../support/wait';
import { axeViolations, launch, press, screenshot, textOf, until, watchErrors } from './browser';

jest.setTimeout(120_000);

async function json<T>(url: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const r = await fetch(url, init);
  const text = await r.text();
  return { status: r.status, body: (text ? JSON.parse(text) : null) as T };
}

describeWithTools(['chromium'], 'dashboard in a browser', () => {
  let tmp: string;
  let demo: DemoHandle;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let base: string;

  beforeAll(async () => {
    const built = await buildUi();
    console.log(`dashboard bundle: ${built.files.join(', ')}, ${(built.bytes / 1024).toFixed(1)} KiB`);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-ui-'));
    demo = await runDemo({
      flags: { dataDir: path.join(tmp, 'var'), httpAddr: '127.0.0.1:0', dnsAddr: '127.0.0.1:0', nginx: false, churnMs: 0 },
      env: { BERTH_LOG_LEVEL: 'warn' },
      cwd: tmp,
    });
    base = demo.berth.url;
    browser = await launch();
    page = await browser.newPage();
    errors = watchErrors(page);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await demo?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const noAxeIssues = async (view: string) => {
    const v = await axeViolations(page);
    expect({ view, violations: v }).toEqual({ view, violations: [] });
  };

  it('overview (the URL berth demo prints): role and leader, Marathon stream, readiness, sync runs and the DNS serial', async () => {
    const line = demo.panel.find((l) => l.trim().startsWith('Dashboard')) ?? '';
    const url = /(http:\/\/\S+\/ui\/)/.exec(line)?.[1];
    expect(url).toBe(`${base}/ui/`);
    await page.goto(url as string);
    await until(page, `document.querySelector('#ov-cluster')?.textContent.includes('leader')`);
    await until(
      page,
      `document.querySelector('#ov-sync tbody tr td')?.textContent.includes('ago') || document.querySelector('#ov-sync tbody')?.textContent.includes('now')`,
    );
    const serial = Number(await textOf(page, '[data-testid=dns-serial]'));
    expect(serial).toBe(demo.berth.dns.currentIndex().serial);
    expect(await textOf(page, '#ov-marathon')).toMatch(/connected|last event/);
    expect(await textOf(page, '#ov-ready')).toContain('database');
    await screenshot(page, 'overview');
    await noAxeIssues('overview');
  });

  it('services: every published service, filtered by search and environment, with its labels', async () => {
    await page.goto(`${base}/ui/#/services`);
    const { body } = await json<{ services: Array<{ env: string; domains: string[] }> }>(`${base}/v1/services`);
    await until(page, `document.querySelectorAll('li.service').length === ${Math.min(25, body.services.length)}`);
    await page.type('#svc-q', 'web.');
    const webCount = body.services.filter((s) => s.domains.some((d) => d.includes('web.'))).length;
    await until(page, `document.querySelectorAll('li.service').length === ${webCount}`);
    await page.select('#svc-env', 'func-a');
    const webFuncA = body.services.filter((s) => s.env === 'func-a' && s.domains.some((d) => d.includes('web.'))).length;
    await until(page, `document.querySelectorAll('li.service').length === ${webFuncA}`);
    // Clear the search; open one service: endpoints and the labels it came from.
    await page.click('#svc-q', { count: 3 });
    await page.keyboard.press('Backspace');
    await page.select('#svc-env', 'integration');
    await until(page, `[...document.querySelectorAll('.svc-domain')].some((e) => e.textContent === 'web.integration.berth.internal')`);
    await page.evaluate(`[...document.querySelectorAll('li.service summary')].find((s) => s.textContent.includes('web.integration.berth.internal')).click()`);
    await until(page, `document.querySelector('details[open] pre.labels')?.textContent.includes('berth.domain=web.integration.berth.internal')`);
    expect(await textOf(page, 'details[open]')).toMatch(/Endpoints[\s\S]*127\./);
    await screenshot(page, 'services');
    await noAxeIssues('services');
  });

  it('pools: utilisation bar; allocate and release from the page, confirmed, visible through the API', async () => {
    await page.goto(`${base}/ui/#/pools`);
    await until(page, `document.querySelector('#pools .bar .seg.allocated') && document.querySelector('#allocations tbody tr td.mono')`);
    expect(await textOf(page, '#pools')).toContain('demo');
    const appId = '/ui/dashboard-test';
    await page.type('#alloc-app', appId);
    await press(page, 'form button[type=submit]');
    await until(page, `document.querySelector('#pool-message .notice.ok')?.textContent.includes(${JSON.stringify(appId)})`);
    const held = await json<{ ip: string; allocationId: number }>(`${base}/v1/pools/demo/allocations/${encodeURIComponent(appId)}`);
    expect(held.status).toBe(200);
    expect(await textOf(page, '#pool-message')).toContain(held.body.ip);
    // Search finds it; the audit trail shows the allocation.
    await page.type('#alloc-q', 'dashboard-test');
    await until(
      page,
      `document.querySelectorAll('#allocations tbody tr').length === 1 && document.querySelector('#allocations tbody').textContent.includes(${JSON.stringify(held.body.ip)})`,
    );
    await until(page, `document.querySelector('#events tbody')?.textContent.includes(${JSON.stringify(appId)})`);
    await screenshot(page, 'pools');
    await noAxeIssues('pools');
    // Release: the confirmation can be cancelled…
    await press(page, '#allocations tbody button.danger');
    await until(page, `document.querySelector('#confirm').open`);
    await noAxeIssues('pools (confirmation)');
    await press(page, '#confirm-cancel');
    await until(page, `!document.querySelector('#confirm').open`);
    expect((await json(`${base}/v1/pools/demo/allocations/${encodeURIComponent(appId)}`)).status).toBe(200);
    // …and confirmed.
    await press(page, '#allocations tbody button.danger');
    await until(page, `document.querySelector('#confirm').open`);
    await press(page, '#confirm-ok');
    await until(page, `document.querySelector('#pool-message .notice.ok')?.textContent.includes('released')`);
    expect((await json(`${base}/v1/pools/demo/allocations/${encodeURIComponent(appId)}`)).status).toBe(404);
    await until(page, `document.querySelector('#allocations tbody').textContent.includes('no allocation matches')`);
    // Reservations: reserve a small range, then free it (confirmed).
    await page.type('#resv-address', '127.77.0.200-127.77.0.203');
    await page.type('#resv-reason', 'kept for the UI test');
    await press(page, 'form[aria-label^="Reserve"] button[type=submit]');
    await until(page, `document.querySelector('#pool-message .notice.ok')?.textContent.includes('reserved 127.77.0.200-127.77.0.203')`);
    const reservedNow = async () => (await json<{ reserved: string[]; usage: { reserved: number } }>(`${base}/v1/pools/demo`)).body;
    expect((await reservedNow()).reserved).toContain('127.77.0.200-127.77.0.203');
    await until(page, `document.querySelector('#reservations')?.textContent.includes('127.77.0.200-127.77.0.203')`);
    await press(page, '#reservations button[aria-label="Free reservation 127.77.0.200-127.77.0.203"]');
    await until(page, `document.querySelector('#confirm').open`);
    await press(page, '#confirm-ok');
    await until(page, `document.querySelector('#pool-message .notice.ok')?.textContent.includes('freed')`);
    expect((await reservedNow()).reserved).not.toContain('127.77.0.200-127.77.0.203');
  });

  it('live: an app deployed in Marathon appears without a reload', async () => {
    await page.goto(`${base}/ui/#/services`);
    await until(page, `document.querySelector('#live')?.textContent === 'Live' && document.querySelectorAll('li.service').length > 0`);
    await page.evaluate('window.__sameDocument = true');
    await demo.sim.control.deploy({
      id: '/integration/live-new',
      instances: 1,
      cpus: 0.1,
      mem: 64,
      cmd: 'sleep 1000',
      portDefinitions: [{ port: 0, name: 'http' }],
      labels: { 'berth.domain': 'live-new.integration.berth.internal', 'berth.env': 'integration' },
    });
    await page.type('#svc-q', 'live-new');
    await until(page, `[...document.querySelectorAll('.svc-domain')].some((e) => e.textContent === 'live-new.integration.berth.internal')`, 20_000);
    expect(await page.evaluate('window.__sameDocument === true')).toBe(true);
  });

  it('services: an app serving path prefixes shows them, and every edge label it set, as berth read them', async () => {
    await demo.sim.control.deploy({
      id: '/integration/edge-api',
      instances: 1,
      cpus: 0.1,
      mem: 64,
      cmd: 'sleep 1000',
      portDefinitions: [{ port: 0, name: 'http' }],
      labels: {
        'berth.domain': 'edge.integration.berth.internal',
        'berth.env': 'integration',
        'berth.path': '/api/, /static',
        'berth.path.strip': 'TRUE',
        'berth.sticky': 'cookie',
        'berth.timeout.read': '30',
        'berth.allow': '10.0.0.0/8',
      },
    });
    await page.goto(`${base}/ui/#/services`);
    await page.click('#svc-q', { count: 3 });
    await page.keyboard.press('Backspace');
    await page.type('#svc-q', 'edge-api');
    await until(page, `document.querySelector('.svc-paths')?.textContent === '/api /static'`, 20_000);
    await page.evaluate(`[...document.querySelectorAll('li.service summary')].find((s) => s.textContent.includes('edge.integration')).click()`);
    await until(page, `!!document.querySelector('details[open] pre.labels')`);
    expect(await textOf(page, 'details[open] .svc-serves')).toBe('Serves only /api, /static (prefix stripped before proxying)');
    // Normalised as berth read them: trailing slash dropped, spaces trimmed, the boolean in lower case.
    expect((await textOf(page, 'details[open] pre.labels')).split('\n')).toEqual(
      expect.arrayContaining(['berth.path=/api,/static', 'berth.path.strip=true', 'berth.sticky=cookie', 'berth.timeout.read=30', 'berth.allow=10.0.0.0/8']),
    );
    await noAxeIssues('services with path prefixes');
  });

  it('problems: the refused app with its code and what to change; a held snapshot released with confirmation', async () => {
    await page.goto(`${base}/ui/#/problems`);
    await until(page, `document.querySelector('#problems')?.textContent.includes(${JSON.stringify(BAD_APP_ID)})`);
    const { body } = await json<{ problems: Array<{ appId: string; code: string }> }>(`${base}/v1/problems?appId=${encodeURIComponent(BAD_APP_ID)}`);
    expect(await textOf(page, '#problems')).toContain(body.problems[0].code);
    expect(await textOf(page, '#problems')).toMatch(/Fix|Set|Declare|rename/);
    // Marathon answers an empty app list once: the snapshot is held; the page shows it live.
    demo.sim.control.fault({ kind: 'emptyApps', path: '/v2/apps', times: 1 });
    const sync = await json<{ result: string }>(`${base}/v1/sync`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(sync.body.result).toBe('held');
    await until(page, `document.querySelector('#held-snapshot button')`);
    await screenshot(page, 'problems');
    await noAxeIssues('problems');
    await press(page, '#held-snapshot button');
    await until(page, `document.querySelector('#confirm').open && document.querySelector('#confirm-body').textContent.includes('removes')`);
    await press(page, '#confirm-ok');
    await until(page, `!document.querySelector('#held-snapshot') && document.querySelector('main').textContent.includes('snapshot released')`);
    expect((await json<{ held: unknown }>(`${base}/v1/registry/status`)).body.held).toBeNull();
    // The registry is empty now, so the Nginx sync would remove every file: the guard holds it too.
    await until(page, `document.querySelector('#held-sync button')`, 20_000);
    expect(await textOf(page, '#held-sync')).toContain('would remove');
    await press(page, '#held-sync button');
    await until(page, `document.querySelector('#confirm').open && document.querySelector('#confirm-title').textContent.includes('Nginx sync')`);
    await press(page, '#confirm-ok');
    await until(page, `!document.querySelector('#held-sync') && document.querySelector('main').textContent.includes('sync released')`);
    expect((await json<{ held: unknown }>(`${base}/v1/sync/status`)).body.held).toBeNull();
    // Put the platform back (the released snapshot was empty).
    await json(`${base}/v1/sync`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  });

  it('without the live stream (a proxy that drops it) the page falls back to polling and still updates', async () => {
    const p2 = await browser.newPage();
    try {
      await p2.setRequestInterception(true);
      p2.on('request', (r) =>
        r.url().includes('/v1/live') ? void r.respond({ status: 503, contentType: 'application/json', body: '{"code":"NOT_READY"}' }) : void r.continue(),
      );
      await p2.goto(`${base}/ui/#/pools`);
      await until(p2, `document.querySelector('#live')?.textContent.startsWith('Polling') && document.querySelector('#allocations tbody tr td.mono')`);
      const appId = '/ui/polled';
      const r = await fetch(`${base}/v1/pools/demo/allocations/${encodeURIComponent(appId)}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      expect(r.status).toBe(201);
      await until(p2, `document.querySelector('#allocations tbody').textContent.includes(${JSON.stringify(appId)})`, 15_000);
    } finally {
      await p2.close();
    }
  });

  it('the page broke no CSP rule and threw nothing', () => {
    expect(errors.filter((e) => !/Failed to load resource: the server responded with a status of 404/.test(e))).toEqual([]);
  });
});

describeWithTools(['chromium'], 'dashboard token prompt', () => {
  let tmp: string;
  let berth: Berth;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    await buildUi();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-ui-token-'));
    const config = loadConfig({
      BERTH_DATA_DIR: tmp,
      BERTH_HTTP_ADDR: '127.0.0.1:0',
      BERTH_DNS_ADDR: '127.0.0.1:0',
      BERTH_API_TOKENS: 'right-token-0123456789,other-token-0123456789',
      BERTH_NGINX_DIR: path.join(tmp, 'nginx'),
      BERTH_NGINX_TEST_CMD: '',
      BERTH_NGINX_RELOAD_CMD: '',
      BERTH_LOG_LEVEL: 'silent',
    });
    berth = await start(config, { logger: silentLogger });
    await fetch(`${berth.url}/v1/pools`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer right-token-0123456789' },
      body: JSON.stringify({ name: 'secret-pool', cidr: '10.70.0.0/24' }),
    });
    browser = await launch();
    page = await browser.newPage();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await berth?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('shows nothing but the prompt until a valid token; a wrong one is rejected', async () => {
    await page.goto(`${berth.url}/ui/#/pools`);
    await until(page, `document.querySelector('#token')`);
    const shown = async () =>
      page.evaluate(
        `({ nav: document.querySelector('#nav').hidden, tables: document.querySelectorAll('main table').length, text: document.querySelector('main').textContent })`,
      ) as Promise<{ nav: boolean; tables: number; text: string }>;
    let s = await shown();
    expect(s).toMatchObject({ nav: true, tables: 0 });
    expect(s.text).not.toContain('secret-pool');
    await screenshot(page, 'token');
    expect(await axeViolations(page)).toEqual([]);

    await page.type('#token', 'wrong-token');
    await page.keyboard.press('Enter');
    await until(page, `document.querySelector('#token-error')?.textContent.includes('not accepted')`);
    s = await shown();
    expect(s).toMatchObject({ nav: true, tables: 0 });
    expect(await page.evaluate(`sessionStorage.getItem('berth.token')`)).toBeNull();

    await page.type('#token', 'right-token-0123456789');
    await page.keyboard.press('Enter');
    await until(page, `document.querySelector('#pools')?.textContent.includes('secret-pool')`);
    expect(await page.evaluate(`sessionStorage.getItem('berth.token')`)).toBe('right-token-0123456789');
    // A write from the page carries the token.
    await page.type('#alloc-app', '/token/app');
    await press(page, 'form button[type=submit]');
    await until(page, `document.querySelector('#pool-message .notice.ok')`);
    await waitFor(async () => (await fetch(`${berth.url}/v1/pools/secret-pool/allocations/${encodeURIComponent('/token/app')}`)).status === 200, 5000);
    // "Forget token" returns to the prompt.
    await press(page, '#signout');
    await until(page, `document.querySelector('#token') && document.querySelector('#nav').hidden`);
  });
});
