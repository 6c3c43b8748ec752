/** The pure index builder and responder: what a client would get for a given catalog, decoded with dns2's parser. */
import { Packet } from 'dns2';
import { buildIndex, IndexBuilder, type IndexOptions } from '../../src/dns/build';
import { taskLabels } from '../../src/dns/records';
import { respond } from '../../src/dns/respond';
import { reverseZones } from '../../src/dns/reverse';
import { encodeSections, Arena } from '../../src/dns/encoder';
import { TYPE } from '../../src/dns/wire';
import type { Service } from '../../src/model/types';
import { aService, endpoints, query } from './helpers';

const options: IndexOptions = {
  zones: ['berth.internal'],
  reverseNetworks: ['10.1.0.0/16'],
  ttl: 10,
  defaultEnv: 'default',
  environments: { qa: { clients: [], proxyAddresses: ['10.200.0.2'] }, dev: { clients: [], proxyAddresses: [] } },
};

function ask(services: Service[], name: string, type: number, env = 'default') {
  const index = buildIndex(services, options, { loaded: true, position: 1, serial: 77 });
  const out = respond(query(name, type), index, env, true, false);
  const p = Packet.parse(out.reply!);
  const data = (a: Packet.Resource) => a.address ?? a.domain ?? (a.target ? `${a.port} ${a.target}` : a.primary ? `${a.primary} ${a.serial}` : (a.ns ?? '?'));
  return { rcode: out.reply![3] & 15, answers: p.answers.map(data).sort(), authority: p.authorities.map((a) => a.name), skipped: index.skipped };
}
const NOERROR = 0,
  NXDOMAIN = 3,
  REFUSED = 5;

describe('buildIndex', () => {
  it.each([
    {
      desc: 'a domain outside every zone is skipped and reported',
      services: [aService({ domains: ['x.example.com'] })],
      name: 'x.example.com',
      type: TYPE.A,
      rcode: REFUSED,
      answers: [],
      skipped: 1,
    },
    {
      desc: 'berth.dns=none publishes nothing',
      services: [aService({ domains: ['n.berth.internal'], dns: 'none' })],
      name: 'n.berth.internal',
      type: TYPE.A,
      rcode: NXDOMAIN,
      answers: [],
    },
    {
      desc: 'a service with no serving task keeps its name (NODATA, not NXDOMAIN)',
      services: [aService({ domains: ['idle.berth.internal'] }, 0)],
      name: 'idle.berth.internal',
      type: TYPE.A,
      rcode: NOERROR,
      answers: [],
    },
    {
      desc: 'proxy mode without proxy addresses: the name exists, no address',
      services: [aService({ env: 'dev', domains: ['p.berth.internal'], dns: 'proxy' })],
      name: 'p.berth.internal',
      type: TYPE.A,
      rcode: NOERROR,
      answers: [],
      env: 'dev',
    },
    {
      desc: "proxy mode answers the environment's Nginx addresses",
      services: [aService({ env: 'qa', domains: ['p.berth.internal'], dns: 'proxy' })],
      name: 'p.berth.internal',
      type: TYPE.A,
      rcode: NOERROR,
      answers: ['10.200.0.2'],
      env: 'qa',
    },
    {
      desc: 'the same address on two tasks is answered once',
      services: [
        aService({
          domains: ['d.berth.internal'],
          endpoints: [...endpoints(1, 3, 80), { ...endpoints(1, 3, 81)[0], taskId: 'other.deadbeef-aaaa-4bbb-8ccc-123456789abc' }],
        }),
      ],
      name: 'd.berth.internal',
      type: TYPE.A,
      rcode: NOERROR,
      answers: ['10.1.3.1'],
    },
    { desc: 'SOA at the apex carries the serial', services: [], name: 'berth.internal', type: TYPE.SOA, rcode: NOERROR, answers: ['ns.berth.internal 77'] },
    {
      desc: 'a reverse zone of the pool has its own SOA',
      services: [],
      name: '1.10.in-addr.arpa',
      type: TYPE.SOA,
      rcode: NOERROR,
      answers: ['ns.berth.internal 77'],
    },
  ])('$desc', ({ services, name, type, rcode, answers, env, skipped }) => {
    const r = ask(services, name, type, env);
    expect(r.rcode).toBe(rcode);
    expect(r.answers).toEqual(answers);
    expect(r.skipped).toHaveLength(skipped ?? 0);
  });

  it('never encodes an invalid address: bad literals are dropped, good ones kept', () => {
    const eps = ['10.0.0', '300.1.1.1', 'not-an-ip', '', '010.1.1.1', '10.1.9.9', '::ffff:1.2.3.4'].map((address, i) => ({
      ...endpoints(1, 9)[0],
      taskId: `t.${i}0000000-aaaa-4bbb-8ccc-123456789abc`,
      address,
    }));
    const svc = [aService({ domains: ['v.berth.internal'], endpoints: eps })];
    expect(ask(svc, 'v.berth.internal', TYPE.A).answers).toEqual(['10.1.9.9']);
    expect(ask(svc, 'v.berth.internal', TYPE.AAAA).answers).toEqual(['::ffff:102:304']);
  });

  it('refuses to encode records that dns2 would mangle silently', () => {
    const arena = new Arena();
    expect(() =>
      encodeSections(arena, 'x', [{ name: 'x', ttl: 1, rec: { type: TYPE.SRV, data: { priority: 0, weight: 0, port: 70000, target: 't' } } }]),
    ).toThrow(/16-bit/);
    expect(() => encodeSections(arena, 'x', [{ name: 'x', ttl: 1, rec: { type: TYPE.A, data: '300.1.1.1' } }])).toThrow(/IPv4/);
    expect(() => encodeSections(arena, 'x', [{ name: `${'z'.repeat(64)}.berth.internal`, ttl: 1, rec: { type: TYPE.A, data: '1.1.1.1' } }])).toThrow(/63/);
  });

  it('gives every served address a PTR to the primary domain of each direct service behind it', () => {
    const host = { taskId: 'h.11111111-aaaa-4bbb-8ccc-123456789abc', address: '192.0.2.10', port: 31000, host: 'agent' };
    const services = [
      aService({ domains: ['a.berth.internal', 'alias.berth.internal'], endpoints: [host] }),
      aService({ domains: ['b.berth.internal'], endpoints: [{ ...host, taskId: 'h.22222222-aaaa-4bbb-8ccc-123456789abc', port: 31001 }] }),
    ];
    // 192.0.2.10 is outside the pool: its exact reverse name becomes a zone of its own.
    expect(ask(services, '10.2.0.192.in-addr.arpa', TYPE.PTR).answers).toEqual(['a.berth.internal', 'b.berth.internal']);
    expect(ask(services, '10.2.0.192.in-addr.arpa', TYPE.SOA).rcode).toBe(NOERROR);
    expect(ask(services, '11.2.0.192.in-addr.arpa', TYPE.PTR).rcode).toBe(REFUSED); // a neighbour is not ours
  });

  it('answers ANY with every record set of the name', () => {
    const services = [
      aService({
        domains: ['m.berth.internal'],
        endpoints: [...endpoints(1, 4), { ...endpoints(1, 4)[0], taskId: 'x.99999999-aaaa-4bbb-8ccc-123456789abc', address: 'fd00::1' }],
      }),
    ];
    expect(ask(services, 'm.berth.internal', TYPE.ANY).answers).toEqual(['10.1.4.1', 'fd00::1']);
  });

  it('falls back per name: an env answers what it defines (even with no task) and the default env the rest', () => {
    const services = [
      aService({ domains: ['web.berth.internal', 'only-default.berth.internal'], endpoints: endpoints(1, 1) }),
      aService({ env: 'qa', domains: ['web.berth.internal'] }, 0),
    ];
    expect(ask(services, 'web.berth.internal', TYPE.A, 'qa')).toMatchObject({ rcode: NOERROR, answers: [] });
    expect(ask(services, 'only-default.berth.internal', TYPE.A, 'qa').answers).toEqual(['10.1.1.1']);
    expect(ask(services, 'web.berth.internal', TYPE.A, 'unknown-env').answers).toEqual(['10.1.1.1']);
  });
});

describe('taskLabels', () => {
  it('derives stable labels from the task UUID and stays unique when prefixes clash', () => {
    const ids = [
      'app.3f1c2d4e-1111-2222-3333-444455556666',
      'app.3f1c2d4e-9999-2222-3333-444455556666',
      'app.instance-0badc0de-1111-2222-3333-444455556666._app.1',
      'no-uuid-here',
    ];
    const labels = taskLabels(ids);
    expect(labels[0]).toBe('t-3f1c2d4e');
    expect(labels[2]).toBe('t-0badc0de');
    expect(new Set(labels).size).toBe(4);
    expect(labels.every((l) => /^t-[0-9a-f]{8}(-\d+)?$/.test(l))).toBe(true);
    expect(taskLabels(ids)).toEqual(labels);
  });
});

describe('reverseZones', () => {
  it.each([
    ['10.1.0.0/16', ['1.10.in-addr.arpa']],
    ['10.1.16.0/20', Array.from({ length: 16 }, (_, i) => `${16 + i}.1.10.in-addr.arpa`)],
    ['10.1.17.5/20', Array.from({ length: 16 }, (_, i) => `${16 + i}.1.10.in-addr.arpa`)],
    ['fd00:1::/62', ['0', '1', '2', '3'].map((n) => `${n}.0.0.0.0.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa`)],
  ])('%s → zones that cover exactly the pool', (cidr, zones) => {
    expect(reverseZones(cidr)).toEqual(zones);
  });
});

describe('IndexBuilder (incremental)', () => {
  const catalogs: Service[][] = [
    [aService({ domains: ['a.berth.internal'], endpoints: endpoints(2, 1) }), aService({ domains: ['b.berth.internal'], endpoints: endpoints(1, 2) })],
    // a's task moved, b gone, c new, and a second app on a's first address (PTR lists both)
    [
      aService({ domains: ['a.berth.internal'], endpoints: endpoints(2, 3) }),
      aService({ appId: '/c', domains: ['c.berth.internal'], endpoints: endpoints(1, 3) }),
      aService({ appId: '/sub', domains: ['x.sub.a.berth.internal'], endpoints: endpoints(1, 6) }),
    ],
    // two apps claiming one name in one env: answered as one merged name
    [
      aService({ appId: '/x', domains: ['dup.berth.internal'], endpoints: endpoints(1, 4) }),
      aService({ appId: '/y', domains: ['dup.berth.internal'], endpoints: endpoints(1, 5) }),
    ],
    [],
  ];
  const questions: Array<[string, number]> = [
    ['a.berth.internal', TYPE.A],
    ['b.berth.internal', TYPE.A],
    ['c.berth.internal', TYPE.A],
    ['dup.berth.internal', TYPE.A],
    ['_http._tcp.a.berth.internal', TYPE.SRV],
    ['sub.a.berth.internal', TYPE.A],
    ['x.sub.a.berth.internal', TYPE.A],
    ['1.3.1.10.in-addr.arpa', TYPE.PTR],
    ['1.1.1.10.in-addr.arpa', TYPE.PTR],
    ['berth.internal', TYPE.SOA],
  ];
  const answersOf = (index: ReturnType<typeof buildIndex>) =>
    questions.map(([n, t]) => respond(query(n, t), index, 'default', true, false).reply!.toString('hex'));

  it('answers exactly like a fresh build after every change', () => {
    const builder = new IndexBuilder(options);
    catalogs.forEach((services, i) => {
      const meta = { loaded: true, position: i + 1, serial: 5 };
      const steps = builder.build(services, meta);
      let r = steps.next();
      while (!r.done) r = steps.next();
      expect(answersOf(r.value)).toEqual(answersOf(buildIndex(services, options, meta)));
    });
  });

  it('keeps tables and serial when nothing DNS-visible changed (a new app version, same tasks)', () => {
    const builder = new IndexBuilder(options);
    const run = (services: Service[], position: number) => {
      const steps = builder.build(services, { loaded: true, position, serial: position });
      let r = steps.next();
      while (!r.done) r = steps.next();
      return r.value;
    };
    const first = run(catalogs[0], 1);
    const second = run(
      catalogs[0].map((s) => ({ ...s, version: '2026-02-02T00:00:00.000Z' })),
      2,
    );
    expect(second.envs).toBe(first.envs);
    expect({ position: second.position, serial: second.serial }).toEqual({ position: 2, serial: 1 });
    const third = run(catalogs[1], 3);
    expect(third.envs).not.toBe(first.envs);
    expect(third.serial).toBe(3);
  });

  it('merges two apps claiming the same name', () => {
    const r = ask(catalogs[2], 'dup.berth.internal', TYPE.A);
    expect(r.answers).toEqual(['10.1.4.1', '10.1.5.1']);
  });
});

describe('one bad app', () => {
  it('publishes nothing for that app and everything for the others', () => {
    const bad = aService({ domains: ['bad.berth.internal'], endpoints: [{ ...endpoints(1, 1)[0], port: 70000 }] }); // SRV port out of range
    const services = [bad, aService({ domains: ['good.berth.internal'], endpoints: endpoints(1, 2) })];
    const r = ask(services, 'good.berth.internal', TYPE.A);
    expect(r.answers).toEqual(['10.1.2.1']);
    expect(r.skipped).toEqual([expect.stringMatching(/16-bit/)]);
    expect(ask(services, 'bad.berth.internal', TYPE.A).rcode).toBe(NXDOMAIN);
  });
});
