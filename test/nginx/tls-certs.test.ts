/** Certificate pair checks (Node crypto) and the per-domain choice of exact or wildcard pair. */
import fs from 'node:fs';
import path from 'node:path';
import { MAX_PEM_BYTES, checkPair, pairFor } from '../../src/nginx/tls-certs';
import { certificateNames } from '../../src/rules';
import { describeWithTools } from '../support/tools';
import { tmpDir } from './helpers';
import { makePair } from './tls-fixtures';

const DAY = 86_400_000;

it('a wildcard pair covers one label below its parent only', () => {
  expect(certificateNames('a.example.test')).toEqual(['a.example.test', '_.example.test']);
  expect(certificateNames('b.a.example.test')).toEqual(['b.a.example.test', '_.a.example.test']);
  // `*.test` would be a wildcard over a whole TLD: never looked for.
  expect(certificateNames('example.test')).toEqual(['example.test']);
});

describeWithTools(['openssl'], 'certificate pairs', () => {
  let dir: string;
  beforeAll(() => {
    dir = tmpDir('berth-tls-');
    makePair(dir, 'a.example.test', ['a.example.test']);
    makePair(dir, '_.example.test', ['*.example.test']);
    makePair(dir, 'other.test', ['other.test']);
    makePair(dir, 'mixed.test', ['mixed.test']);
    fs.copyFileSync(path.join(dir, 'other.test.key'), path.join(dir, 'mixed.test.key'));
  });

  it('accepts a matching pair and fingerprints it', async () => {
    const r = await checkPair(dir, 'a.example.test', 'a.example.test', Date.now());
    expect(r).toMatchObject({ ok: true, cert: path.join(dir, 'a.example.test.crt'), key: path.join(dir, 'a.example.test.key') });
    if (r.ok) expect(r.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it('prefers the exact pair, falls back to the wildcard of the immediate parent only', async () => {
    expect(await pairFor(dir, 'a.example.test', Date.now())).toMatchObject({ ok: true, name: 'a.example.test' });
    expect(await pairFor(dir, 'b.example.test', Date.now())).toMatchObject({ ok: true, name: '_.example.test' });
    expect(await pairFor(dir, 'c.b.example.test', Date.now())).toMatchObject({ ok: false, code: 'TLS_CERT_MISSING' });
  });

  it('refuses a key of another certificate', async () => {
    expect(await checkPair(dir, 'mixed.test', 'mixed.test', Date.now())).toMatchObject({
      ok: false,
      code: 'TLS_CERT_INVALID',
      reason: expect.stringMatching(/does not match/),
    });
  });

  it('refuses a certificate for another name', async () => {
    expect(await checkPair(dir, 'other.test', 'a.example.test', Date.now())).toMatchObject({
      ok: false,
      code: 'TLS_CERT_INVALID',
      reason: expect.stringMatching(/not valid for/),
    });
  });

  it('refuses an expired and a not yet valid certificate', async () => {
    expect(await checkPair(dir, 'a.example.test', 'a.example.test', Date.now() + 31 * DAY)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/expired/),
    });
    expect(await checkPair(dir, 'a.example.test', 'a.example.test', Date.now() - 2 * DAY)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/not valid before/),
    });
  });

  it('refuses garbage, a directory and a huge file without reading it', async () => {
    const d = tmpDir('berth-tls-bad-');
    fs.writeFileSync(path.join(d, 'g.test.crt'), 'not pem');
    fs.copyFileSync(path.join(dir, 'a.example.test.key'), path.join(d, 'g.test.key'));
    expect(await checkPair(d, 'g.test', 'g.test', Date.now())).toMatchObject({
      ok: false,
      code: 'TLS_CERT_INVALID',
      reason: expect.stringMatching(/not a PEM certificate/),
    });
    fs.mkdirSync(path.join(d, 'dir.test.crt'));
    fs.writeFileSync(path.join(d, 'dir.test.key'), '');
    expect(await checkPair(d, 'dir.test', 'dir.test', Date.now())).toMatchObject({ ok: false, code: 'TLS_CERT_INVALID' });
    fs.writeFileSync(path.join(d, 'big.test.crt'), Buffer.alloc(MAX_PEM_BYTES + 1, 65));
    fs.copyFileSync(path.join(dir, 'a.example.test.key'), path.join(d, 'big.test.key'));
    expect(await checkPair(d, 'big.test', 'big.test', Date.now())).toMatchObject({
      ok: false,
      code: 'TLS_CERT_INVALID',
      reason: expect.stringMatching(/larger than/),
    });
    expect(await checkPair(d, 'none.test', 'none.test', Date.now())).toMatchObject({ ok: false, code: 'TLS_CERT_MISSING' });
  });
});
