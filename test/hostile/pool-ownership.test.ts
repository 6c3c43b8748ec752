/**
 * Issue 16, bullet 2, pool ownership, on a whole berth: a `berth.ip` inside a managed pool belongs
 * to the app IPAM allocated it to. Another app naming that address is refused with
 * IP_ALLOCATED_TO_OTHER (naming the address and the holder) while the holder keeps being served;
 * an app prepared through `POST /v1/apps/prepare` is served at once; every other app keeps
 * converging. The pool is a loopback /24 (allowSpecial) so Nginx can reach the test backends on
 * their fixed IPs, as a 10.x pool's containers would be reached on a Docker host.
 */
import http from 'node:http';
import type net from 'node:net';
import { describeEachEngine } from '../support/db';
import { describeWithTools } from '../support/tools';
import { waitFor } from '../support/wait';
import { expectStillConverging, fixedApp, hostileStack, problemOf, ZONE, type HostileStack } from './stack';

const POOL = { name: 'loop', cidr: '127.77.0.0/24', allowSpecial: true, dockerNetwork: 'loopnet' };
const A_IP = '127.77.0.10';

interface SyncRun {
  status: string;
  reloaded: boolean;
  finishedAt: string;
}

/** An HTTP backend on `ip` (any 127/8 address is local on Linux) answering `body`. */
async function backendOn(ip: string, body: string): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((_req, res) => res.end(body));
  await new Promise<void>((r) => server.listen(0, ip, r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

describeWithTools(['nginx'], 'hostile pool ownership', () => {
  describeEachEngine('a fixed IP in a managed pool belongs to the app it is allocated to', (db) => {
    let h: HostileStack;
    const backends: Array<{ close(): Promise<void> }> = [];
    const served = async (name: string, body: string): Promise<boolean> => (await h.http(name)).body === body && (await h.a(name)) === 1;
    beforeAll(async () => {
      h = await hostileStack(db().url);
    }, 60000);
    afterAll(async () => {
      await h?.stop();
      for (const b of backends) await b.close();
    });

    test('the holder serves, a squatter is refused naming address and holder, a prepared app serves at once', async () => {
      expect((await h.stack.api('POST', '/v1/pools', POOL)).status).toBe(201);
      expect((await h.stack.api('POST', `/v1/pools/${POOL.name}/allocations`, { appId: '/pool/a', ip: A_IP })).status).toBe(201);

      const a = await backendOn(A_IP, 'pool-a');
      const b = await backendOn(A_IP, 'pool-b');
      backends.push(a, b);
      const deployedAt = Date.now();
      await h.stack.sim.control.deploy(fixedApp('/pool/a', a.port, { 'berth.domain': `pool-a.${ZONE}`, 'berth.ip': A_IP }));
      await waitFor(
        () => served(`pool-a.${ZONE}`, 'pool-a'),
        20000,
        () => 'the holder /pool/a served',
      );
      // New Nginx workers answer before the old ones stop accepting: until berth has confirmed the
      // reload (the run is recorded only then), a request can still reach an old worker without A.
      await waitFor(
        async () =>
          (await h.stack.api<{ runs: SyncRun[] }>('GET', '/v1/sync/runs?limit=10')).body.runs.some(
            (r) => r.status === 'applied' && r.reloaded && Date.parse(r.finishedAt) >= deployedAt,
          ),
        20000,
        () => 'the reload that serves /pool/a to be confirmed',
      );

      // /pool/b names A's address (its backend would even answer there): refused, A untouched.
      await h.stack.sim.control.deploy(fixedApp('/pool/b', b.port, { 'berth.domain': `pool-b.${ZONE}`, 'berth.ip': A_IP }));
      const p = await problemOf(h, 'IP_ALLOCATED_TO_OTHER', '/pool/b');
      expect(p.details).toMatchObject({ ip: A_IP, holder: '/pool/a', pool: POOL.name });
      expect(p.message).toContain(A_IP);
      expect(p.message).toContain('/pool/a');
      expect((await h.http(`pool-b.${ZONE}`)).status).toBe(404);
      expect(await h.a(`pool-b.${ZONE}`)).toBe(0);
      expect(await served(`pool-a.${ZONE}`, 'pool-a')).toBe(true);
      expect((await h.problems()).filter((x) => x.appId === '/pool/a')).toEqual([]);

      // Prepared through the API: its allocation exists before Marathon knows the app.
      const prep = await h.stack.api<{ labels: Record<string, string>; container: { portMappings: Array<{ containerPort: number }> } }>(
        'POST',
        '/v1/apps/prepare',
        fixedApp('/pool/prepared', 80, { 'berth.domain': `pool-prepared.${ZONE}`, 'berth.ip': `auto:${POOL.name}` }),
      );
      expect(prep.status).toBe(201);
      const ip = prep.body.labels['berth.ip'];
      expect(ip).toMatch(/^127\.77\.0\.\d+$/);
      expect(ip).not.toBe(A_IP);
      const c = await backendOn(ip, 'pool-prepared');
      backends.push(c);
      prep.body.container.portMappings[0].containerPort = c.port;
      await h.stack.sim.control.deploy(prep.body);
      await waitFor(
        () => served(`pool-prepared.${ZONE}`, 'pool-prepared'),
        20000,
        () => 'the prepared app served',
      );
      expect((await h.problems()).filter((x) => x.appId === '/pool/prepared')).toEqual([]);

      await expectStillConverging(h, 'pool');
      // Still refused after the snapshots and reconciliation passes since: the claim never moves A's address.
      expect((await h.problems()).some((x) => x.appId === '/pool/b' && x.code === 'IP_ALLOCATED_TO_OTHER')).toBe(true);
      const held = await h.stack.api<{ appId: string }>('GET', `/v1/pools/${POOL.name}/allocations/${encodeURIComponent('/pool/a')}`);
      expect(held.body.appId).toBe('/pool/a');
    }, 90000);
  });
});
