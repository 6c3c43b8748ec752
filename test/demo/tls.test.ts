import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { makeSelfSignedPair } from '../../src/demo/self-signed';
import { certDays, ensureDemoCert, type DemoCertOptions } from '../../src/demo/tls';
import { describeWithTools } from '../support/tools';

const DOMAIN = 'static.integration.berth.internal';
const DAY_MS = 86_400_000;

it('without openssl the demo gets no certificate, and a plain reason', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-demo-tls-'));
  try {
    const r = await ensureDemoCert({ dir, domain: DOMAIN, now: Date.now(), warnDays: 14, openssl: '/nonexistent/openssl' });
    expect(r).toEqual({ ok: false, reason: 'openssl is not installed (apt-get install openssl)' });
    expect(fs.readdirSync(dir)).toEqual([]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

describeWithTools(['openssl'], 'demo certificate', () => {
  let root: string;
  let opts: DemoCertOptions;
  const crt = () => path.join(opts.dir, `${DOMAIN}.crt`);
  const key = () => path.join(opts.dir, `${DOMAIN}.key`);

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-demo-tls-'));
    opts = { dir: path.join(root, 'var/tls'), domain: DOMAIN, now: Date.now(), warnDays: 14 };
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('is made on first start: valid for the name, past the expiry warning, key readable by its owner only', async () => {
    const r = await ensureDemoCert(opts);
    if (!r.ok) throw new Error(r.reason);
    expect(r).toMatchObject({ cert: crt(), key: key(), made: expect.stringContaining('not both present') });
    const x509 = new X509Certificate(fs.readFileSync(crt()));
    expect(x509.checkHost(DOMAIN)).toBe(DOMAIN);
    expect(r.notAfter - opts.now).toBeGreaterThan(certDays(14).renewWithin * DAY_MS);
    expect(fs.statSync(key()).mode & 0o777).toBe(0o600);
    expect(fs.statSync(opts.dir).mode & 0o777).toBe(0o700);
    expect(fs.readdirSync(opts.dir).sort()).toEqual([`${DOMAIN}.crt`, `${DOMAIN}.key`]);
  });

  it('is reused on the next start while good', async () => {
    await ensureDemoCert(opts);
    const before = fs.readFileSync(crt(), 'utf8');
    const again = await ensureDemoCert({ ...opts, now: Date.now() + 10 * DAY_MS });
    expect(again).toMatchObject({ ok: true, cert: crt() });
    expect(again.ok && again.made).toBeUndefined();
    expect(fs.readFileSync(crt(), 'utf8')).toBe(before);
  });

  const remade: Array<[string, (o: DemoCertOptions) => void, RegExp]> = [
    ['for another name', (o) => makeSelfSignedPair(o.dir, DOMAIN, ['someone-else.test']), /not valid for/],
    ['expiring soon', (o) => makeSelfSignedPair(o.dir, DOMAIN, [DOMAIN], certDays(o.warnDays).renewWithin - 1), /expires/],
    ['not a certificate', () => fs.writeFileSync(crt(), 'garbage'), /not a PEM certificate/],
    ['with a key of another pair', (o) => fs.copyFileSync(path.join(o.dir, 'other.key'), key()), /does not match/],
    ['half a pair', () => fs.rmSync(key()), /not both present/],
  ];
  it.each(remade)('is made again when the one found is %s', async (_what, spoil, why) => {
    await ensureDemoCert(opts);
    makeSelfSignedPair(opts.dir, 'other', ['other.test']);
    spoil(opts);
    // Clock read per call: a pair made a moment ago is not valid before the second it was made in.
    const r = await ensureDemoCert({ ...opts, now: Date.now() });
    if (!r.ok) throw new Error(r.reason);
    expect(r.made).toMatch(why);
    expect(new X509Certificate(fs.readFileSync(crt())).checkHost(DOMAIN)).toBe(DOMAIN);
    expect(await ensureDemoCert({ ...opts, now: Date.now() })).not.toHaveProperty('made');
  });

  it('refuses a folder berth could not write into Nginx', async () => {
    const r = await ensureDemoCert({ ...opts, dir: path.join(root, 'my var/tls') });
    expect(r).toMatchObject({ ok: false, reason: expect.stringContaining('cannot be BERTH_TLS_DIR') });
  });
});
