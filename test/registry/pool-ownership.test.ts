/**
 * Issue 16, bullet 2, pool ownership: a `berth.ip` inside a managed pool must be allocated to that
 * app (or free, for reconciliation to claim); one allocated to another app is refused with
 * IP_ALLOCATED_TO_OTHER naming the address and the holder, who keeps being served. Run against a
 * real IPAM on both engines, with the registry reading holders as `berth run` wires it.
 */
import { loadPoolHolders } from '../../src/ipam/holders';
import { silentLogger } from '../../src/log';
import type { App } from '../../src/marathon/types';
import { ipamInputOf, reconcileIpam } from '../../src/registry/ipam-reconcile';
import { IpamReconciler } from '../../src/ipam/reconcile-port';
import type { Registry } from '../../src/registry/registry';
import { aTask, anApp, withBridgeMappings, withDomain, withTasks } from '../support/builders';
import { describeEachEngine } from '../support/db';
import { serviceFor } from '../ipam/helpers';
import { openRegistry, resetRegistryTables } from './helpers';

function fixed(id: string, ip: string): App {
  return anApp(
    { id },
    withDomain(`${id.slice(1).replace(/\//g, '-')}.example.test`, { 'berth.ip': ip }),
    withBridgeMappings({ containerPort: 80, hostPort: 0, name: 'http' }),
    withTasks(aTask({ id: `?.${id.length}`, host: '10.0.0.1', ports: [31000] })),
  );
}

function problemsOf(registry: Registry, appId: string): Array<{ code: string; message: string; details?: Record<string, unknown> }> {
  return registry.listProblems().filter((p) => p.appId === appId);
}

function served(registry: Registry): string[] {
  return registry
    .listServices()
    .map((s) => s.appId)
    .sort();
}

describeEachEngine('pool ownership of fixed IPs', (get) => {
  beforeEach(async () => resetRegistryTables(get().knex));

  test('the holder serves; another app claiming its address is refused naming address and holder', async () => {
    const ipam = serviceFor(get());
    await ipam.createPool({ name: 'own1', cidr: '10.91.0.0/24' });
    await ipam.allocate('own1', '/a', { ip: '10.91.0.10' });
    const { registry } = await openRegistry(get().knex, { poolHolders: (ips) => loadPoolHolders(get().knex, ips) });

    await registry.applySnapshot([fixed('/a', '10.91.0.10'), fixed('/b', '10.91.0.10'), fixed('/outside', '192.0.2.7')]);
    expect(served(registry)).toEqual(['/a', '/outside']);
    const [p] = problemsOf(registry, '/b');
    expect(p).toMatchObject({ code: 'IP_ALLOCATED_TO_OTHER', details: { ip: '10.91.0.10', holder: '/a', pool: 'own1' } });
    expect(p.message).toContain('10.91.0.10');
    expect(p.message).toContain('/a');
    expect(problemsOf(registry, '/a')).toEqual([]);

    // Released by the operator: the address is free again, so /b is no longer refused.
    await ipam.release('own1', '/a');
    await registry.applyApp('/b', fixed('/b', '10.91.0.10'));
    expect(served(registry)).toContain('/b');
    expect(problemsOf(registry, '/b')).toEqual([]);
  });

  test('an allocation made a moment ago (API or prepare) is seen by the next refetch', async () => {
    const ipam = serviceFor(get());
    await ipam.createPool({ name: 'own2', cidr: '10.92.0.0/24', dockerNetwork: 'fixed-net' });
    const { registry } = await openRegistry(get().knex, { poolHolders: (ips) => loadPoolHolders(get().knex, ips) });
    await registry.applySnapshot([fixed('/steady', '192.0.2.8')]);

    await ipam.allocate('own2', '/other', { ip: '10.92.0.20' });
    await registry.applyApp('/late', fixed('/late', '10.92.0.20'));
    expect(problemsOf(registry, '/late')).toEqual([expect.objectContaining({ code: 'IP_ALLOCATED_TO_OTHER' })]);

    const prepared = await ipam.prepareApp(fixed('/prepared', 'auto:own2'));
    expect(prepared.allocation?.ip).toMatch(/^10\.92\.0\./);
    await registry.applyApp('/prepared', prepared.app as unknown as App);
    expect(served(registry)).toContain('/prepared');
    expect(problemsOf(registry, '/prepared')).toEqual([]);
  });

  test('a free address is served and claimed by reconciliation; a reserved one is refused like a claim would be', async () => {
    const ipam = serviceFor(get());
    await ipam.createPool({ name: 'own3', cidr: '10.93.0.0/24', reserved: ['10.93.0.250'] });
    const { registry } = await openRegistry(get().knex, { poolHolders: (ips) => loadPoolHolders(get().knex, ips) });
    const apps = [fixed('/free', '10.93.0.30'), fixed('/gateway', '10.93.0.1'), fixed('/kept', '10.93.0.250')];
    await registry.applySnapshot(apps);
    expect(served(registry)).toEqual(['/free']);
    for (const [id, ip] of [
      ['/gateway', '10.93.0.1'],
      ['/kept', '10.93.0.250'],
    ]) {
      expect(problemsOf(registry, id)).toEqual([
        expect.objectContaining({
          code: 'IP_NOT_ALLOCATED',
          details: expect.objectContaining({ ip, pool: 'own3', reason: expect.stringContaining('reserved') }),
        }),
      ]);
    }

    await reconcileIpam(new IpamReconciler(ipam), registry, ipamInputOf(apps), new Date(), silentLogger);
    expect((await ipam.getAllocation('own3', '/free')).ip).toBe('10.93.0.30');
    // The claim made it /free's own: still served, and a newcomer asking for it is now refused.
    await registry.applySnapshot([...apps, fixed('/newcomer', '10.93.0.30')]);
    expect(served(registry)).toEqual(['/free']);
    expect(problemsOf(registry, '/newcomer')).toEqual([
      expect.objectContaining({ code: 'IP_ALLOCATED_TO_OTHER', details: expect.objectContaining({ holder: '/free' }) }),
    ]);
  });

  test('a failed IPAM read writes nothing (the published state stays)', async () => {
    let fail = false;
    const { registry } = await openRegistry(get().knex, {
      poolHolders: async (ips) => {
        if (fail) throw new Error('ipam unavailable');
        return loadPoolHolders(get().knex, ips);
      },
    });
    await registry.applySnapshot([fixed('/x', '192.0.2.9')]);
    fail = true;
    await expect(registry.applySnapshot([])).rejects.toThrow('ipam unavailable');
    expect(served(registry)).toEqual(['/x']);
  });
});

describeEachEngine('IPAM reconciliation with hostile app ids', (get) => {
  test('an id with NUL or a lone surrogate does not stop reconciliation of the other apps', async () => {
    const ipam = serviceFor(get());
    await ipam.createPool({ name: 'hostile1', cidr: '10.94.0.0/24' });
    await ipam.allocate('hostile1', '/gone');
    await ipam.allocate('hostile1', '/stays');
    const port = new IpamReconciler(ipam, { graceSeconds: 0 });
    const apps = [
      anApp({ id: '/stays' }),
      anApp({ id: '/nul\u0000id' }),
      anApp({ id: '/lone\ud800' }),
      anApp({ id: '/Bad Grammar' }),
      null as unknown as App,
      fixed('/claims', '10.94.0.40'),
    ];
    const recorded: unknown[] = [];
    const registry = { setProblems: async (_s: string, p: unknown[]) => void recorded.push(...p) };
    for (let pass = 0; pass < 2; pass++) await reconcileIpam(port, registry, ipamInputOf(apps), new Date(), silentLogger);

    const holders = (await ipam.findAllocations({ pool: 'hostile1' })).map((a) => a.appId).sort();
    // /gone was released after its second missing pass; /claims' running container was claimed.
    expect(holders).toEqual(['/claims', '/stays']);
    expect(recorded).toEqual([]);
  });
});
