/**
 * Issue 16, bullet 2: endpoints that are berth's own sockets (API, DNS, the database) are never
 * rendered or published, whatever the source; fixed IPs outside the allowed ranges are refused.
 * Each refusal is a problem naming the address, and every other app keeps converging.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describeEachEngine } from '../support/db';
import { describeWithTools } from '../support/tools';
import { waitFor } from '../support/wait';
import { freePort } from '../nginx/nginx-harness';
import { expectStillConverging, fixedApp, hostileStack, problemOf, ZONE, type HostileStack } from './stack';

describeWithTools(['nginx'], 'hostile addresses', () => {
  describeEachEngine("berth's own sockets and refused fixed IPs", (db) => {
    let h: HostileStack;
    beforeAll(async () => {
      h = await hostileStack(db().url);
    }, 60000);
    afterAll(async () => h?.stop());

    test("proxying to berth's API, DNS or database, or to a link-local address, is refused with a problem naming it", async () => {
      await h.deployServed('/hostile/neighbour', { 'berth.domain': `neighbour.${ZONE}` }, 'neighbour');
      // berth.ip=127.0.0.1 + berth's API port: Nginx would hand the network berth's loopback-trusted API.
      await h.stack.sim.control.deploy(fixedApp('/hostile/api', h.apiPort, { 'berth.domain': `api.${ZONE}` }));
      const [dnsListen, pgListen] = [await freePort(), await freePort()];
      await h.stack.sim.control.deploy(
        fixedApp('/hostile/dns', h.dnsPort, { 'berth.domain': `dns.${ZONE}`, 'berth.proxy': 'tcp', 'berth.listen': String(dnsListen) }),
      );
      await h.stack.sim.control.deploy(fixedApp('/hostile/metadata', 80, { 'berth.domain': `metadata.${ZONE}`, 'berth.ip': '169.254.169.254' }));

      const api = await problemOf(h, 'ENDPOINT_SELF', '/hostile/api');
      expect(api.message).toContain(`127.0.0.1:${h.apiPort}`);
      expect(api.details).toMatchObject({ endpoint: `127.0.0.1:${h.apiPort}`, socket: 'API' });
      expect((await problemOf(h, 'ENDPOINT_SELF', '/hostile/dns')).details).toMatchObject({ endpoint: `127.0.0.1:${h.dnsPort}`, socket: 'DNS' });
      expect((await problemOf(h, 'FIXED_IP_REFUSED', '/hostile/metadata')).message).toContain('169.254.169.254');

      if (h.databaseUrl) {
        // berth.proxy=tcp to PostgreSQL itself.
        const u = new URL(h.databaseUrl);
        await h.stack.sim.control.deploy(
          fixedApp('/hostile/pg', Number(u.port || 5432), {
            'berth.domain': `pg.${ZONE}`,
            'berth.ip': u.hostname,
            'berth.proxy': 'tcp',
            'berth.listen': String(pgListen),
          }),
        );
        expect((await problemOf(h, 'ENDPOINT_SELF', '/hostile/pg')).details).toMatchObject({ socket: 'database' });
      }

      await waitFor(
        async () => (await h.http(`neighbour.${ZONE}`)).body === 'neighbour',
        20000,
        () => 'neighbour served',
      );
      for (const name of ['api', 'dns', 'metadata', 'pg']) {
        expect((await h.http(`${name}.${ZONE}`)).status).toBe(404);
        expect(await h.a(`${name}.${ZONE}`)).toBe(0);
      }
      // Nothing was rendered for them: no upstream in any file points at berth's own ports.
      const conf = fs
        .readdirSync(h.nginx.dir, { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.conf'))
        .map((f) => fs.readFileSync(path.join(h.nginx.dir, f), 'utf8'))
        .join('\n');
      expect(conf).toContain('neighbour');
      expect(conf).not.toContain(`127.0.0.1:${h.apiPort}`);
      expect(conf).not.toContain(`127.0.0.1:${h.dnsPort}`);
      await expectStillConverging(h, 'addresses');
    }, 90000);
  });
});
