/**
 * Issue 16, bullet 3: names berth answers itself are reserved; a domain claimed in two environments
 * that share one Nginx stays with the earlier claim; one app id limit, so an app is published by
 * Nginx and DNS alike or by neither.
 */
import { APP_ID_MAX_LENGTH } from '../../src/rules';
import { describeEachEngine } from '../support/db';
import { describeWithTools } from '../support/tools';
import { waitFor } from '../support/wait';
import { expectStillConverging, fixedApp, hostileStack, problemOf, ZONE, type HostileStack } from './stack';

/** An app id of exactly `n` characters, heavy in `-` so its plain Nginx file name would not fit. */
function longId(n: number): string {
  let id = '/names';
  while (id.length < n) {
    const room = n - id.length - 1;
    id += `/${'a-'.repeat(30).slice(0, Math.min(59, room)).replace(/-$/, 'b')}`;
  }
  return id;
}

describeWithTools(['nginx'], 'hostile names', () => {
  describeEachEngine('reserved names, cross-environment domains, app id length', (db) => {
    let h: HostileStack;
    beforeAll(async () => {
      h = await hostileStack(db().url);
    }, 60000);
    afterAll(async () => h?.stop());

    test('the zone apex and ns.<zone> cannot be claimed; berth keeps answering them itself', async () => {
      await h.stack.sim.control.deploy(fixedApp('/names/apex', 80, { 'berth.domain': ZONE }));
      await h.stack.sim.control.deploy(fixedApp('/names/ns', 80, { 'berth.domain': `ns.${ZONE}` }));
      expect((await problemOf(h, 'DOMAIN_RESERVED', '/names/apex')).message).toContain(`apex of zone ${ZONE}`);
      expect((await problemOf(h, 'DOMAIN_RESERVED', '/names/ns')).message).toContain('name server');
      const soa = await h.stack.dns.query(ZONE, 6, 1000);
      expect(soa).toMatchObject({ rcode: 0, answers: 1 });
      expect((await h.http(ZONE)).status).toBe(404);
      await expectStillConverging(h, 'reserved');
    }, 90000);

    test('a newer app in another environment does not take over a domain the shared Nginx already serves', async () => {
      await h.deployServed('/names/integration-web', { 'berth.domain': `shared.${ZONE}` }, 'integration');
      await waitFor(
        async () => (await h.http(`shared.${ZONE}`)).body === 'integration',
        20000,
        () => 'first claim served',
      );
      await h.deployServed('/names/func-a-web', { 'berth.domain': `shared.${ZONE}`, 'berth.env': 'func-a' }, 'func-a');
      const p = await problemOf(h, 'DOMAIN_CONFLICT', '/names/func-a-web');
      expect(p).toMatchObject({ env: 'func-a', details: { conflicts: [{ domain: `shared.${ZONE}`, owner: '/names/integration-web', env: 'default' }] } });
      expect(p.message).toContain('/names/integration-web');
      const services = (await h.stack.api<Array<{ appId: string }>>('GET', '/v1/services?env=func-a')).body;
      expect(JSON.stringify(services)).not.toContain('/names/func-a-web');
      expect((await h.http(`shared.${ZONE}`)).body).toBe('integration');
      await expectStillConverging(h, 'conflict');
    }, 90000);

    test('one app id limit: a 175-character and a maximal id are served by Nginx and DNS, one more character by neither', async () => {
      const ok175 = longId(175);
      const okMax = longId(APP_ID_MAX_LENGTH);
      const tooLong = longId(APP_ID_MAX_LENGTH + 1);
      expect([ok175.length, okMax.length, tooLong.length]).toEqual([175, APP_ID_MAX_LENGTH, APP_ID_MAX_LENGTH + 1]);
      for (const [id, name] of [
        [ok175, 'id175'],
        [okMax, 'idmax'],
        [tooLong, 'idtoolong'],
      ])
        await h.deployServed(id, { 'berth.domain': `${name}.${ZONE}` }, name);
      for (const name of ['id175', 'idmax']) {
        await waitFor(
          async () => (await h.http(`${name}.${ZONE}`)).body === name && (await h.a(`${name}.${ZONE}`)) === 1,
          20000,
          () => `${name} in Nginx and DNS`,
        );
      }
      const p = await problemOf(h, 'APP_ID_INVALID', /^invalid:\/names\//);
      expect(p.message).toContain(`longer than ${APP_ID_MAX_LENGTH}`);
      expect((await h.http(`idtoolong.${ZONE}`)).status).toBe(404);
      expect(await h.a(`idtoolong.${ZONE}`)).toBe(0);
      await expectStillConverging(h, 'ids');
    }, 90000);
  });
});
