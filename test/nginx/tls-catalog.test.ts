/** The per-run certificate choice: expiry warnings and gauge, TLS unavailable, renewals seen by a stat. */
import fs from 'node:fs';
import { Registry } from 'prom-client';
import { TlsCatalog, tlsPlanKey } from '../../src/nginx/tls-catalog';
import { describeWithTools } from '../support/tools';
import { aService, tmpDir } from './helpers';
import { makePair } from './tls-fixtures';

describeWithTools(['openssl'], 'TLS catalog', () => {
  const svc = aService({ appId: '/web', domains: ['web.example.test', 'api.example.test'], tls: 'redirect', hsts: 60 });

  it('reports a certificate expiring within the window, keeps serving it and exports its notAfter', async () => {
    const dir = tmpDir('berth-tls-cat-');
    makePair(dir, '_.example.test', ['*.example.test'], 10);
    const registry = new Registry();
    const cat = new TlsCatalog(dir, 14, registry);
    const r = await cat.resolve([svc], Date.now());
    expect(r.plans.get(tlsPlanKey(svc))).toMatchObject({ redirect: true, hsts: 60, servers: [{ serverNames: 'web.example.test api.example.test' }] });
    expect(r.problems).toEqual([
      expect.objectContaining({ code: 'TLS_CERT_EXPIRING', appId: '/web', message: expect.stringMatching(/expires \d{4}-.*still served/) }),
    ]);
    const text = await registry.metrics();
    const m = /berth_nginx_tls_certificate_expiry_timestamp_seconds\{domain="web.example.test"\} (\d+)/.exec(text);
    expect(Number(m?.[1])).toBeGreaterThan(Date.now() / 1000 + 9 * 86400);
    expect(await new TlsCatalog(dir, 7, null).resolve([svc], Date.now())).toMatchObject({ problems: [] });
  });

  it('without a TLS directory, an app asking for TLS has a problem and keeps plain HTTP without redirect', async () => {
    const r = await new TlsCatalog('', 14, null).resolve([svc, aService({ appId: '/plain' })], Date.now());
    expect(r.plans.get(tlsPlanKey(svc))).toEqual({ servers: [], redirect: false, hsts: 60 });
    expect(r.problems).toEqual([
      expect.objectContaining({ code: 'TLS_CERT_MISSING', appId: '/web', message: expect.stringMatching(/BERTH_TLS_DIR is not set.*no redirect/) }),
    ]);
  });

  it('sees a renewed or removed file by its stat, and names missing names', async () => {
    const dir = tmpDir('berth-tls-cat-');
    makePair(dir, 'web.example.test', ['web.example.test']);
    const cat = new TlsCatalog(dir, 0, null);
    const first = await cat.resolve([svc], Date.now());
    expect(first.plans.get(tlsPlanKey(svc))?.redirect).toBe(false); // api.example.test has no pair
    expect(first.problems).toEqual([expect.objectContaining({ code: 'TLS_CERT_MISSING', message: expect.stringMatching(/api\.example\.test/) })]);
    expect(await cat.changed()).toBe(false);
    makePair(dir, 'web.example.test', ['web.example.test']);
    expect(await cat.changed()).toBe(true);
    const second = await cat.resolve([svc], Date.now());
    expect(second.key).not.toBe(first.key);
    fs.rmSync(`${dir}/web.example.test.key`);
    expect(await cat.changed()).toBe(true);
  });
});
