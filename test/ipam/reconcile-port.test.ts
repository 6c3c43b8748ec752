import { IpamReconciler } from '../../src/ipam/reconcile-port';
import { describeEachEngine } from '../support/db';
import { serviceFor, snapshotNow } from './helpers';

describeEachEngine('IpamReconciler (the registry port)', (get) => {
  test('claims unknown fixed IPs, reports conflicts and addresses outside every pool', async () => {
    const ipam = serviceFor(get());
    await ipam.createPool({ name: 'port', cidr: '10.80.0.0/24' });
    await ipam.allocate('port', '/owner', { ip: '10.80.0.10' });
    const port = new IpamReconciler(ipam, { graceSeconds: 0 });
    expect(await port.pools()).toEqual(['port']);
    const out = await port.claim(
      [
        { appId: '/new', ip: '10.80.0.20', running: true },
        { appId: '/owner', ip: '10.80.0.10', running: true },
        { appId: '/squatter', ip: '10.80.0.10', running: true },
        { appId: '/elsewhere', ip: '192.0.2.1', running: false },
        { appId: '/typo', ip: '10.80.0.300', running: false },
      ],
      new Date(),
    );
    expect(out).toEqual([
      { appId: '/new', ip: '10.80.0.20', pool: 'port', result: 'claimed' },
      { appId: '/owner', ip: '10.80.0.10', pool: 'port', result: 'existing' },
      { appId: '/squatter', ip: '10.80.0.10', pool: 'port', result: 'conflict', owner: '/owner', message: expect.stringContaining('ADDRESS_TAKEN') },
      { appId: '/elsewhere', ip: '192.0.2.1', result: 'outside' },
      { appId: '/typo', ip: '10.80.0.300', result: 'conflict', message: expect.stringContaining('not an IP address') },
    ]);
    const events = await ipam.events('port', { limit: 1 });
    expect(events[0]).toMatchObject({ action: 'claim', actor: 'reconciler', appId: '/new' });
  });

  test('releases a vanished app only on the second pass', async () => {
    const ipam = serviceFor(get());
    await ipam.createPool({ name: 'port2', cidr: '10.81.0.0/24' });
    for (const a of ['/a', '/b', '/c']) await ipam.allocate('port2', a);
    const port = new IpamReconciler(ipam, { graceSeconds: 0 });
    expect(await port.reconcile('port2', ['/a', '/b'], snapshotNow())).toEqual({ marked: 1, cleared: 0, released: 0 });
    expect(await port.reconcile('port2', ['/a', '/b'], snapshotNow())).toEqual({ marked: 0, cleared: 0, released: 1 });
    expect((await ipam.findAllocations({ pool: 'port2' })).map((x) => x.appId)).toEqual(['/a', '/b']);
  });
});
