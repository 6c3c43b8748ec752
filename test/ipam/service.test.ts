import { describeEachEngine } from '../support/db';
import { rejection, serviceFor, snapshotNow, uniquePool } from './helpers';

describeEachEngine('IpamService', (get) => {
  const svc = () => serviceFor(get());

  async function pool(opts: { prefix?: number; quarantineSeconds?: number; reserved?: string[] } = {}) {
    const { name, octet } = uniquePool();
    await svc().createPool({ name, cidr: `10.${octet}.0.0/${opts.prefix ?? 24}`, quarantineSeconds: opts.quarantineSeconds, reserved: opts.reserved });
    return { name, net: `10.${octet}.0` };
  }

  test('the same app id gets the same address; the first answer says created', async () => {
    const { name, net } = await pool();
    const a = await svc().allocate(name, '/team/app-1');
    const b = await svc().allocate(name, '/team/app-1');
    expect(a.created).toBe(true);
    expect(b.created).toBe(false);
    expect(b.allocation).toEqual(a.allocation);
    // the gateway (first host) is reserved, so the first allocation is the second host
    expect(a.allocation).toMatchObject({ pool: name, appId: '/team/app-1', ip: `${net}.2`, prefixLength: 24, gateway: `${net}.1` });
  });

  test('a released address stays in quarantine for other apps; the same app gets it back', async () => {
    const { name, net } = await pool({ prefix: 29, quarantineSeconds: 600 }); // hosts .1-.6, .1 gateway
    const apps = ['/a', '/b', '/c', '/d', '/e'];
    const ips = [];
    for (const app of apps) ips.push((await svc().allocate(name, app)).allocation.ip);
    expect(ips).toEqual([2, 3, 4, 5, 6].map((h) => `${net}.${h}`));
    const released = await svc().release(name, '/c');
    expect(released?.ip).toBe(`${net}.4`);
    // the only free address is quarantined: a new app is refused with the exhaustion code
    const err = await rejection(svc().allocate(name, '/new'));
    expect(err.code).toBe('POOL_EXHAUSTED');
    expect(err.details).toMatchObject({ usage: { quarantined: 1, available: 0 } });
    const fixed = await rejection(svc().allocate(name, '/new', { ip: `${net}.4` }));
    expect(fixed.code).toBe('ADDRESS_QUARANTINED');
    // the previous owner is sticky, even inside the quarantine
    const back = await svc().allocate(name, '/c');
    expect(back.allocation.ip).toBe(`${net}.4`);
    expect(back.created).toBe(true);
  });

  test('without quarantine the oldest released address is reused last (never-used first)', async () => {
    const { name, net } = await pool({ quarantineSeconds: 0 });
    await svc().allocate(name, '/x1');
    await svc().release(name, '/x1');
    expect((await svc().allocate(name, '/x2')).allocation.ip).toBe(`${net}.3`);
  });

  test('a stale allocationId cannot release a newer allocation', async () => {
    const { name } = await pool({ quarantineSeconds: 0 });
    const first = (await svc().allocate(name, '/fenced')).allocation;
    await svc().release(name, '/fenced', { allocationId: first.allocationId });
    const second = (await svc().allocate(name, '/fenced')).allocation;
    expect(second.allocationId).not.toBe(first.allocationId);
    const err = await rejection(svc().release(name, '/fenced', { allocationId: first.allocationId }));
    expect(err.code).toBe('STALE_ALLOCATION');
    expect(err.details).toMatchObject({ currentAllocationId: second.allocationId });
    expect((await svc().getAllocation(name, '/fenced')).ip).toBe(second.ip);
    // releasing twice is not an error
    expect(await svc().release(name, '/fenced', { allocationId: second.allocationId })).not.toBeNull();
    expect(await svc().release(name, '/fenced', { allocationId: second.allocationId })).toBeNull();
  });

  test('requested addresses: free ok, reserved, taken, outside, network address, other address held', async () => {
    const { name, octet } = uniquePool();
    const net = `10.${octet}.0`;
    await svc().createPool({ name, cidr: `${net}.0/24`, reserved: [`${net}.200-${net}.210`] });
    expect((await svc().allocate(name, '/fixed', { ip: `${net}.50` })).allocation.ip).toBe(`${net}.50`);
    expect((await rejection(svc().allocate(name, '/other', { ip: `${net}.50` }))).code).toBe('ADDRESS_TAKEN');
    expect((await rejection(svc().allocate(name, '/other', { ip: `${net}.205` }))).code).toBe('ADDRESS_RESERVED');
    expect((await rejection(svc().allocate(name, '/other', { ip: `${net}.1` }))).code).toBe('ADDRESS_RESERVED');
    expect((await rejection(svc().allocate(name, '/other', { ip: `${net}.0` }))).code).toBe('ADDRESS_RESERVED');
    expect((await rejection(svc().allocate(name, '/other', { ip: '192.0.2.1' }))).code).toBe('INVALID_IP');
    expect((await rejection(svc().allocate(name, '/other', { ip: '10.0.0.300' }))).code).toBe('INVALID_IP');
    expect((await rejection(svc().allocate(name, '/fixed', { ip: `${net}.51` }))).code).toBe('APP_HAS_ALLOCATION');
    expect((await svc().allocate(name, '/fixed', { ip: `${net}.50` })).created).toBe(false);
  });

  test('the database itself refuses a second row per address and a second address per app', async () => {
    const { name, net } = await pool();
    await expect(
      get().knex.raw(`INSERT INTO ipam_address (pool_id, ip) SELECT pool_id, ip FROM ipam_address WHERE ip = ?::inet`, [`${net}.9`]),
    ).rejects.toMatchObject({ code: '23505' });
    await expect(
      get().knex.raw(`UPDATE ipam_address SET state = 'allocated', owner = '/dup', allocation_id = 1 WHERE ip IN (?::inet, ?::inet)`, [
        `${net}.9`,
        `${net}.10`,
      ]),
    ).rejects.toMatchObject({ code: '23505' });
    expect((await svc().getPool(name)).usage.allocated).toBe(0);
  });

  test('usage is counted by the database', async () => {
    const { name } = await pool({ prefix: 28, quarantineSeconds: 600, reserved: [] });
    await svc().allocate(name, '/u1');
    await svc().allocate(name, '/u2');
    await svc().release(name, '/u2');
    const p = await svc().getPool(name);
    expect(p.usage).toEqual({ capacity: 14, allocated: 1, quarantined: 1, reserved: 1, available: 11 });
  });

  test('the audit trail has every step, and refuses changes', async () => {
    const { name } = await pool({ quarantineSeconds: 0 });
    const a = (await svc().allocate(name, '/audited', { actor: 'tester' })).allocation;
    await svc().release(name, '/audited', { actor: 'tester' });
    await svc().allocate(name, '/audited', { actor: 'tester' });
    const events = await svc().events(name);
    expect(events.map((e) => e.action)).toEqual(['allocate', 'release', 'allocate', 'pool_create']);
    expect(events[2]).toMatchObject({ appId: '/audited', ip: a.ip, allocationId: a.allocationId, actor: 'tester' });
    await expect(get().knex.raw('update ipam_event set actor = ?', ['x'])).rejects.toThrow(/append-only/);
    await expect(get().knex.raw('delete from ipam_event')).rejects.toThrow(/append-only/);
  });

  test('reconcile: mark, then release after the grace period; never on an empty answer', async () => {
    const { name } = await pool({ quarantineSeconds: 0 });
    for (let i = 1; i <= 10; i++) await svc().allocate(name, `/r/app-${i}`);
    const live = (n: number) => Array.from({ length: n }, (_, i) => `/r/app-${i + 1}`);
    expect(await svc().reconcile(name, [], new Date())).toMatchObject({ skipped: 'empty-answer', released: 0 });
    expect(await svc().reconcile(name, live(2), new Date())).toMatchObject({ skipped: 'too-many-missing' });
    // snapshot taken before the (simulated) Marathon fetch
    const first = await svc().reconcile(name, live(8), snapshotNow(), { graceSeconds: 0 });
    expect(first).toEqual({ pool: name, marked: 2, cleared: 0, released: 0 });
    const second = await svc().reconcile(name, live(9), snapshotNow(), { graceSeconds: 0 });
    expect(second).toEqual({ pool: name, marked: 0, cleared: 1, released: 1 });
    expect((await svc().findAllocations({ pool: name })).map((a) => a.appId)).toHaveLength(9);
    const actions = (await svc().events(name, { limit: 5 })).map((e) => e.action);
    expect(actions.slice(0, 2).sort()).toEqual(['orphan_clear', 'orphan_release']);
  });

  test('claim records an address a running app already uses', async () => {
    const { name, net } = await pool({ quarantineSeconds: 600 });
    expect(await svc().claim(name, '/claimed', `${net}.77`)).toMatchObject({ status: 'claimed', allocation: { ip: `${net}.77` } });
    expect(await svc().claim(name, '/claimed', `${net}.77`)).toMatchObject({ status: 'already-held' });
    expect(await svc().claim(name, '/intruder', `${net}.77`)).toMatchObject({ status: 'conflict', code: 'ADDRESS_TAKEN' });
    expect(await svc().poolForAddress(`${net}.77`)).toBe(name);
    expect(await svc().poolForAddress('192.0.2.9')).toBeNull();
  });

  test('a /16 is populated when created: every host has a row, allocation starts at once', async () => {
    const { name, octet } = uniquePool('w');
    const p = await svc().createPool({ name, cidr: `10.${100 + octet}.0.0/16` });
    expect(p.usage).toEqual({ capacity: 65534, allocated: 0, quarantined: 0, reserved: 1, available: 65533 });
    expect((await svc().allocate(name, '/big')).allocation.ip).toBe(`10.${100 + octet}.0.2`);
  });

  test('IPv6 pools allocate from a bounded window', async () => {
    const { name, octet } = uniquePool('v');
    const p = await svc().createPool({ name, cidr: `fd00:${octet}::/64` });
    expect(p.allocationRange).toEqual({ first: `fd00:${octet}::1`, last: `fd00:${octet}::1:0` });
    expect(p.usage).toMatchObject({ capacity: 65536, reserved: 1 });
    expect((await svc().allocate(name, '/six')).allocation).toMatchObject({ ip: `fd00:${octet}::2`, prefixLength: 64 });
  });

  test('pools: duplicate name, overlap, delete in use', async () => {
    const { name, octet } = uniquePool();
    await svc().createPool({ name, cidr: `10.${octet}.0.0/24` });
    expect((await rejection(svc().createPool({ name, cidr: '10.250.0.0/24' }))).code).toBe('POOL_EXISTS');
    const overlap = await rejection(svc().createPool({ name: `${name}x`, cidr: `10.${octet}.0.128/25` }));
    expect(overlap.code).toBe('POOL_OVERLAP');
    expect(overlap.message).toContain(name);
    await svc().allocate(name, '/busy');
    expect((await rejection(svc().deletePool(name))).code).toBe('POOL_IN_USE');
    await svc().deletePool(name, { force: true });
    expect((await rejection(svc().getPool(name))).code).toBe('POOL_NOT_FOUND');
    expect((await rejection(svc().allocate(name, '/busy'))).code).toBe('POOL_NOT_FOUND');
  });
});
