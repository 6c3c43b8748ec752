/**
 * The incremental index: a patch of the changed apps serves exactly what a full build of the same
 * catalog would, touches only the changed apps' names, never shows half an app, and raises the SOA
 * serial as documented.
 */
import { Packet } from 'dns2';
import { buildIndex, IndexBuilder, SERIAL_EVERY_MS, type DnsIndex, type IndexOptions } from '../../src/dns/build';
import { respond } from '../../src/dns/respond';
import { nameKey, TYPE } from '../../src/dns/wire';
import type { Service } from '../../src/model/types';
import { dump, run } from './dump';
import { aService, endpoints, query } from './helpers';

const options: IndexOptions = {
  zones: ['berth.internal'],
  reverseNetworks: ['10.1.0.0/16'],
  ttl: 10,
  defaultEnv: 'default',
  environments: { qa: { clients: [], proxyAddresses: ['10.200.0.2'] } },
  nsAddresses: ['10.9.9.9'],
};

/** A deterministic pseudo-random sequence (tests must not depend on Math.random). */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** One random app: shared and nested domains, the apex itself, direct/proxy/none, in-pool and outside-pool addresses, a bad port now and then. */
function randomApp(rnd: () => number, i: number): Service {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
  const domain = pick([
    `app${i}.berth.internal`,
    `app${i}.berth.internal`,
    'dup.berth.internal',
    `x${i}.sub.app1.berth.internal`,
    'berth.internal',
    `app${i}.example.com`,
  ]);
  const n = Math.floor(rnd() * 4);
  const eps = Array.from({ length: n }, (_, k) => ({
    taskId: `app${i}.${(0x10000000 + i * 16 + k + Math.floor(rnd() * 3) * 4096).toString(16)}-aaaa-4bbb-8ccc-123456789abc`,
    address: pick([`10.1.${i % 4}.${k + 1}`, `10.1.0.1`, `192.168.7.${k + 1}`, 'fd00::1']),
    port: rnd() < 0.03 ? 70000 : 31000 + k,
    host: 'agent',
  }));
  return aService({
    appId: `/app${i}`,
    env: rnd() < 0.25 ? 'qa' : 'default',
    domains: [domain],
    dns: pick(['direct', 'direct', 'proxy', 'none'] as const),
    endpoints: eps,
  });
}

describe('IndexBuilder.patch', () => {
  it.each([7, 11, 23])('serves exactly what a full build of the same catalog serves, after every change (seed %d)', (seed) => {
    const rnd = prng(seed);
    const catalog = new Map<string, Service>();
    for (let i = 0; i < 30; i++) catalog.set(`/app${i}`, randomApp(rnd, i));
    const builder = new IndexBuilder(options);
    let index = run(builder.build([...catalog.values()], { loaded: true, position: 1, serial: 100 }));
    let now = 1_000_000_000_000;
    for (let step = 0; step < 150; step++) {
      const changed = new Map<string, Service | null>();
      for (let k = Math.floor(rnd() * 4); k >= 0; k--) {
        const i = Math.floor(rnd() * 40);
        const id = `/app${i}`;
        if (rnd() < 0.2) {
          catalog.delete(id);
          changed.set(id, null);
        } else {
          const s = randomApp(rnd, i);
          catalog.set(id, s);
          changed.set(id, s);
        }
      }
      now += 300 + Math.floor(rnd() * 1500);
      index = run(builder.patch(changed, { loaded: true, position: step + 2, now }));
      const fresh = buildIndex(
        [...catalog.values()].sort((a, b) => (a.appId < b.appId ? -1 : 1)),
        options,
        { loaded: true, position: step + 2, serial: index.serial },
      );
      expect({ step, ...dump(index) }).toEqual({ step, ...dump(fresh) });
    }
  });

  it("replaces exactly the changed app's names, SRV, A and PTR, and removal removes them", () => {
    const a = aService({ domains: ['a.berth.internal'], endpoints: endpoints(2, 1) });
    const b = aService({ domains: ['b.berth.internal'], endpoints: endpoints(2, 2) });
    const builder = new IndexBuilder(options);
    const first = run(builder.build([a, b], { loaded: true, position: 1, serial: 1 }));
    const before = new Map(first.envs.get('default'));
    const moved = { ...a, endpoints: [a.endpoints[0], { ...a.endpoints[1], address: '10.1.1.9' }] };
    const second = run(builder.patch(new Map([[a.appId, moved]]), { loaded: true, position: 2, now: 5_000_000 }));
    expect(second.envs).toBe(first.envs); // patched in place, not rebuilt
    const after = second.envs.get('default')!;
    const changed = [...new Set([...before.keys(), ...after.keys()])]
      .filter((k) => before.get(k) !== after.get(k))
      .map(keyToName)
      .sort();
    expect(changed).toEqual([
      '1.10.in-addr.arpa', // a zone apex: its SOA carries the new serial
      '2.1.1.10.in-addr.arpa',
      '9.1.1.10.in-addr.arpa', // PTR of the address left and of the new one (1.1.1.10 is kept)
      '_8080._tcp.a.berth.internal',
      '_http._tcp.a.berth.internal',
      'a.berth.internal',
      'berth.internal', // the other apex
      't-10001000.a.berth.internal',
      't-10001001.a.berth.internal',
    ]);
    expect(answers(second, 'a.berth.internal', TYPE.A)).toEqual(['10.1.1.1', '10.1.1.9']);
    expect(answers(second, '9.1.1.10.in-addr.arpa', TYPE.PTR)).toEqual(['a.berth.internal']);
    expect(rcode(second, '2.1.1.10.in-addr.arpa', TYPE.PTR)).toBe(3);
    expect(answers(second, '_http._tcp.b.berth.internal', TYPE.SRV)).toHaveLength(2);

    const third = run(builder.patch(new Map([[a.appId, null]]), { loaded: true, position: 3, now: 6_000_000 }));
    for (const n of ['a.berth.internal', '_http._tcp.a.berth.internal', 't-10001000.a.berth.internal', '1.1.1.10.in-addr.arpa', '9.1.1.10.in-addr.arpa']) {
      expect([n, rcode(third, n, TYPE.ANY)]).toEqual([n, 3]);
    }
    expect(answers(third, 'b.berth.internal', TYPE.A)).toEqual(['10.1.2.1', '10.1.2.2']);
  });

  it('raises the SOA serial at most once a second, and always within a second of a change', () => {
    const builder = new IndexBuilder(options);
    const t0 = 2_000_000_000_000; // ms
    const first = run(builder.build([aService({ domains: ['a.berth.internal'] })], { loaded: true, position: 1, serial: 10 }));
    expect(soaSerial(first)).toBe(10);
    const p1 = run(builder.patch(new Map([['/b', aService({ domains: ['b.berth.internal'] })]]), { loaded: true, position: 2, now: t0 }));
    expect(p1.serial).toBe(t0 / 1000); // tracks the clock, in seconds
    expect([soaSerial(p1), nxSerial(p1)]).toEqual([t0 / 1000, t0 / 1000]);
    const p2 = run(builder.patch(new Map([['/c', aService({ domains: ['c.berth.internal'] })]]), { loaded: true, position: 3, now: t0 + 100 }));
    expect(answers(p2, 'c.berth.internal', TYPE.A)).toHaveLength(1); // the change itself is not held back
    expect(p2.serial).toBe(t0 / 1000);
    expect(p2.serialDue).toBe(t0 + SERIAL_EVERY_MS);
    const p3 = run(builder.patch(new Map(), { loaded: true, position: 3, now: t0 + SERIAL_EVERY_MS }));
    expect([p3.serial, soaSerial(p3), nxSerial(p3), p3.serialDue]).toEqual([t0 / 1000 + 1, t0 / 1000 + 1, t0 / 1000 + 1, 0]);
    // A patch that changes nothing DNS-visible (a new version, same tasks) keeps the serial.
    const same = aService({ domains: ['c.berth.internal'], version: '2027-01-01T00:00:00.000Z' });
    const p4 = run(builder.patch(new Map([['/c', same]]), { loaded: true, position: 4, now: t0 + 5000 }));
    expect([p4.serial, p4.position, p4.serialDue]).toEqual([t0 / 1000 + 1, 4, 0]);
  });

  it('lists the apps behind a shared address up to what one TCP reply holds, and does not re-encode for changes past that', () => {
    const app = (i: number) =>
      aService({
        appId: `/h${String(i).padStart(4, '0')}`,
        domains: [`h${String(i).padStart(4, '0')}.berth.internal`],
        endpoints: [{ taskId: `h${i}.${(0x30000000 + i).toString(16)}-aaaa-4bbb-8ccc-123456789abc`, address: '10.1.0.1', port: 31000, host: 'agent' }],
      });
    const catalog = Array.from({ length: 3000 }, (_, i) => app(i));
    const builder = new IndexBuilder(options);
    const first = run(builder.build(catalog, { loaded: true, position: 1, serial: 1 }));
    const ptr = () => first.envs.get('default')!.get(nameKey('1.0.1.10.in-addr.arpa'))!;
    const reply = respond(query('1.0.1.10.in-addr.arpa', TYPE.PTR), first, 'default', true, false).reply!;
    const listed = Packet.parse(reply).answers.map((a) => a.domain);
    expect(reply.length).toBeLessThanOrEqual(65535);
    expect(listed.length).toBeGreaterThan(1000);
    expect(listed).toEqual(catalog.slice(0, listed.length).map((s) => s.domains[0])); // the first ones, sorted
    const node = ptr();
    run(builder.patch(new Map([['/h2999', null]]), { loaded: true, position: 2, now: 1e12 })); // past the cut
    expect(ptr()).toBe(node);
    const second = run(builder.patch(new Map([['/h0001', null]]), { loaded: true, position: 3, now: 1e12 + 5000 })); // inside it
    expect(ptr()).not.toBe(node);
    const rest = catalog.filter((s) => s.appId !== '/h2999' && s.appId !== '/h0001');
    expect(dump(second)).toEqual(dump(buildIndex(rest, options, { loaded: true, position: 3, serial: second.serial })));
  });

  it('applies a big patch in slices of whole apps: a query between two slices never sees half an app', () => {
    const apps = (third: number) =>
      Array.from({ length: 100 }, (_, i) =>
        aService({
          appId: `/s${i}`,
          domains: [`s${i}.berth.internal`],
          endpoints: endpoints(2, third).map((e, k) => ({
            ...e,
            taskId: `s${i}.${(0x20000000 + i * 4 + k + third * 65536).toString(16)}-aaaa-4bbb-8ccc-123456789abc`,
          })),
        }),
      );
    const builder = new IndexBuilder(options);
    const index = run(builder.build(apps(1), { loaded: true, position: 1, serial: 1 }));
    const steps = builder.patch(new Map(apps(2).map((s) => [s.appId, s])), { loaded: true, position: 2, now: 9_000_000 });
    let slices = 0;
    for (let r = steps.next(); !r.done; r = steps.next()) {
      slices++;
      for (let i = 0; i < 100; i++) {
        const a = answers(index, `s${i}.berth.internal`, TYPE.A);
        const srv = answers(index, `_http._tcp.s${i}.berth.internal`, TYPE.SRV);
        const targets = srv.map((x) => x.split(' ')[1]).flatMap((t) => answers(index, t, TYPE.A));
        expect(a).toEqual(targets.sort()); // domain and per-task names agree: all old or all new
      }
    }
    expect(slices).toBeGreaterThan(1);
  });
});

function keyToName(key: string): string {
  const labels: string[] = [];
  for (let i = 0; i < key.length; i += key.charCodeAt(i) + 1) labels.push(key.slice(i + 1, i + 1 + key.charCodeAt(i)));
  return labels.join('.');
}

function parse(index: DnsIndex, name: string, type: number) {
  return Packet.parse(respond(query(name, type), index, 'default', true, false).reply!);
}
function rcode(index: DnsIndex, name: string, type: number): number {
  return respond(query(name, type), index, 'default', true, false).reply![3] & 15;
}
function answers(index: DnsIndex, name: string, type: number): string[] {
  return parse(index, name, type)
    .answers.map((a) => a.address ?? a.domain ?? (a.target ? `${a.port} ${a.target}` : '?'))
    .sort();
}
function soaSerial(index: DnsIndex): number {
  return (parse(index, 'berth.internal', TYPE.SOA).answers[0] as unknown as { serial: number }).serial;
}
function nxSerial(index: DnsIndex): number {
  return (parse(index, 'nope.berth.internal', TYPE.A).authorities[0] as unknown as { serial: number }).serial;
}
