/** `berth.tls` and `berth.tls.hsts`: parsed onto the main service; anything else is that app's label problem. */
import { parseApp, type SpecOptions } from '../../src/model/spec';
import { anApp, withDomain, withPortDefinitions } from '../support/builders';

const opts: SpecOptions = { defaultEnv: 'default' };
const parse = (labels: Record<string, string>) =>
  parseApp(anApp({ id: '/web' }, withDomain('web.example.test', labels), withPortDefinitions({ port: 8080 })), opts);

describe('berth.tls labels', () => {
  it('off (or absent) leaves the spec as it was', () => {
    const cases: Array<Record<string, string>> = [{}, { 'berth.tls': 'off' }, { 'berth.tls': 'OFF', 'berth.tls.hsts': '600' }];
    for (const labels of cases) {
      const r = parse(labels);
      expect(r.kind).toBe('spec');
      if (r.kind === 'spec') expect(r.spec).not.toHaveProperty('tls');
      if (r.kind === 'spec') expect(r.spec).not.toHaveProperty('hsts');
    }
  });

  it('on and redirect, with an HSTS max-age', () => {
    expect(parse({ 'berth.tls': 'on' })).toMatchObject({ kind: 'spec', spec: { tls: 'on' } });
    expect(parse({ 'berth.tls': ' redirect ', 'berth.tls.hsts': '63072000' })).toMatchObject({ kind: 'spec', spec: { tls: 'redirect', hsts: 63072000 } });
    expect(parse({ 'berth.tls': 'on', 'berth.tls.hsts': '0' })).toMatchObject({ kind: 'spec', spec: { tls: 'on', hsts: 0 } });
  });

  it.each(['yes', 'true', 'on;', 'on\nreturn 200', '"on"', 'https', ' '])('berth.tls=%j is LABEL_TLS_INVALID', (v) => {
    const r = parse({ 'berth.tls': v });
    expect(r.kind).toBe('invalid');
    if (r.kind === 'invalid')
      expect(r.problems.map((p) => p.code)).toEqual(expect.arrayContaining([expect.stringMatching(/LABEL_TLS_INVALID|LABEL_INVALID_STRING/)]));
  });

  it.each(['-1', '63072001', '1e3', '0x10', '600; always', '600"', '', '99999999999999999999', '1.5'])('berth.tls.hsts=%j is LABEL_HSTS_INVALID', (v) => {
    const r = parse({ 'berth.tls': 'on', 'berth.tls.hsts': v });
    expect(r.kind).toBe('invalid');
    if (r.kind === 'invalid')
      expect(r.problems.map((p) => p.code)).toEqual(expect.arrayContaining([expect.stringMatching(/LABEL_HSTS_INVALID|LABEL_INVALID_STRING/)]));
  });
});
