/**
 * Issue 16, bullet 1: untrusted strings from Marathon (NUL, lone surrogates, control characters,
 * 10 kB values, in label values, label keys and app ids) become per-app problems stored in the
 * database and listed by /v1/problems; every other app keeps converging in Nginx and DNS.
 */
import { describeEachEngine } from '../support/db';
import { describeWithTools } from '../support/tools';
import { waitFor } from '../support/wait';
import { expectStillConverging, fixedApp, hostileStack, problemOf, ZONE, type HostileStack } from './stack';

describeWithTools(['nginx'], 'hostile strings', () => {
  describeEachEngine('label values, label keys and app ids', (db) => {
    let h: HostileStack;
    beforeAll(async () => {
      h = await hostileStack(db().url);
    }, 60000);
    afterAll(async () => h?.stop());

    test('each hostile app gets a readable problem; the good app next to them is served; later apps converge', async () => {
      await h.deployServed('/hostile/good', { 'berth.domain': `good.${ZONE}` }, 'good');
      const hostile: Array<[string, Record<string, string>]> = [
        ['/hostile/nul', { 'berth.domain': `nul.${ZONE}`, 'berth.env': 'qa\u0000' }],
        ['/hostile/surrogate', { 'berth.domain': `sur\ud800.${ZONE}` }],
        ['/hostile/escape', { 'berth.domain': `esc.${ZONE}`, 'berth.port': '\u001b[2J80' }],
        ['/hostile/huge', { 'berth.domain': `${'x'.repeat(10_000)}.${ZONE}` }],
        ['/hostile/key', { 'berth.domain': `key.${ZONE}`, 'berth.\u0000port': '80' }],
      ];
      for (const [id, labels] of hostile) await h.stack.sim.control.deploy(fixedApp(id, 80, labels));

      for (const [id] of hostile) {
        const p = await problemOf(h, 'LABEL_INVALID_STRING', id);
        // Stored and returned escaped: printable ASCII only, short.
        expect(p.message).toMatch(/^[\x20-\x7e…]+$/);
        expect(JSON.stringify(p).length).toBeLessThan(1500);
      }
      expect((await problemOf(h, 'LABEL_INVALID_STRING', '/hostile/nul')).message).toContain('qa\\u0000');
      await waitFor(
        async () => (await h.http(`good.${ZONE}`)).body === 'good' && (await h.a(`good.${ZONE}`)) === 1,
        20000,
        () => 'good app served',
      );
      expect(await h.a(`nul.${ZONE}`)).toBe(0);
      expect((await h.http(`esc.${ZONE}`)).status).toBe(404);
      await expectStillConverging(h, 'strings');
    }, 90000);

    test('an app id Marathon should never send (NUL, control characters) is a problem under a safe key, and the snapshot still applies', async () => {
      // A broken proxy in front of Marathon: the app list gains apps with unusable ids.
      const real = (await (await fetch(`${h.stack.sim.url}/v2/apps?embed=apps.tasks`)).json()) as { apps: unknown[] };
      const bad = [
        { ...fixedApp('/hostile/\u0000nul', 80, { 'berth.domain': `idnul.${ZONE}` }), version: '2026-01-01T00:00:00.000Z' },
        { ...fixedApp(`/hostile/${'\u001b'.repeat(3)}${'y'.repeat(600)}`, 80, { 'berth.domain': `idlong.${ZONE}` }), version: '2026-01-01T00:00:00.000Z' },
      ];
      const off = h.stack.sim.control.fault({
        kind: 'status',
        status: 200,
        path: '/v2/apps',
        method: 'GET',
        body: JSON.stringify({ apps: [...real.apps, ...bad] }),
      });
      try {
        expect((await h.stack.api('POST', '/v1/sync')).status).toBeLessThan(300);
        const p = await problemOf(h, 'APP_ID_INVALID', /^invalid:\/hostile\/\\u0000nul#/);
        expect(p.message).toContain('NUL');
        await problemOf(h, 'APP_ID_INVALID', /^invalid:\/hostile\/\\u001b/);
        expect(await h.a(`idnul.${ZONE}`)).toBe(0);
        expect((await h.http(`good.${ZONE}`)).body).toBe('good');
      } finally {
        off();
      }
      await expectStillConverging(h, 'ids');
    }, 90000);
  });
});
