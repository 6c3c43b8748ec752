/**
 * IPAM's holders of fixed IPs, as the registry's pool-ownership rule reads them: one query over the
 * asked addresses, answers keyed by canonical address, and the same verdict reconciliation's claim
 * would reach (allocated: the owner; free: no rule; reserved: nobody).
 */
import { holdingOf, loadPoolHolders } from '../../src/ipam/holders';
import { describeEachEngine } from '../support/db';
import { serviceFor } from './helpers';

describe('holdingOf', () => {
  test('allocated names the owner, free leaves it to the claim, reserved and missing rows refuse', () => {
    expect(holdingOf({ pool: 'p', state: 'allocated', owner: '/a', reason: null })).toEqual({ pool: 'p', holder: '/a' });
    expect(holdingOf({ pool: 'p', state: 'free', owner: null, reason: null })).toBeUndefined();
    expect(holdingOf({ pool: 'p', state: 'reserved', owner: null, reason: 'gateway' })).toEqual({ pool: 'p', holder: null, reason: 'reserved (gateway)' });
    expect(holdingOf({ pool: 'p', state: null, owner: null, reason: null })).toMatchObject({
      holder: null,
      reason: expect.stringContaining('not allocatable'),
    });
  });
});

describeEachEngine('loadPoolHolders', (get) => {
  test('answers for the asked addresses, in any spelling, and nothing outside the pools', async () => {
    const ipam = serviceFor(get());
    await ipam.createPool({ name: 'h4', cidr: '10.95.0.0/24', reserved: ['10.95.0.200'] });
    await ipam.createPool({ name: 'h6', cidr: 'fd00:95::/64' });
    await ipam.allocate('h4', '/four', { ip: '10.95.0.9' });
    await ipam.allocate('h6', '/six', { ip: 'fd00:95::9' });
    const asked = ['10.95.0.9', 'fd00:0095:0:0::9', '10.95.0.10', '10.95.0.200', '192.0.2.1', 'not-an-ip', '10.95.0.300'];
    const lookup = await loadPoolHolders(get().knex, asked);
    expect(lookup('10.95.0.9')).toEqual({ pool: 'h4', holder: '/four' });
    expect(lookup('fd00:95::9')).toEqual({ pool: 'h6', holder: '/six' });
    expect(lookup('fd00:0095::0009')).toEqual({ pool: 'h6', holder: '/six' });
    expect(lookup('10.95.0.10')).toBeUndefined(); // free: reconciliation claims it
    expect(lookup('10.95.0.200')).toMatchObject({ pool: 'h4', holder: null, reason: expect.stringContaining('reserved') });
    expect(lookup('10.95.0.1')).toBeUndefined(); // not asked: no answer
    expect(lookup('192.0.2.1')).toBeUndefined();
    expect(lookup('not-an-ip')).toBeUndefined();
  });

  test('no addresses: no query, an empty answer', async () => {
    const lookup = await loadPoolHolders(get().knex, []);
    expect(lookup('10.95.0.9')).toBeUndefined();
  });
});
