/**
 * An app's names are encoded at the first question for any of them, not when the index is built:
 * the answers are the bytes an encoding at build time gave, and a value the encoder would refuse
 * still skips its app when the index is built.
 */
import { Packet } from 'dns2';
import { buildIndex, IndexBuilder, type DnsIndex, type IndexOptions } from '../../src/dns/build';
import { Arena } from '../../src/dns/encoder';
import { encodeNode, type NameNode } from '../../src/dns/node';
import { serviceRecords } from '../../src/dns/records';
import { respond } from '../../src/dns/respond';
import { nameKey, TYPE } from '../../src/dns/wire';
import type { Service } from '../../src/model/types';
import { aService, endpoints, query } from './helpers';

const options: IndexOptions = { zones: ['berth.internal'], reverseNetworks: [], ttl: 30, defaultEnv: 'default', environments: {} };

const web = aService({ domains: ['web.berth.internal'], endpoints: endpoints(3, 1) });
const api = aService({ domains: ['api.berth.internal'], endpoints: endpoints(2, 2) });

/** Whether the served node of `name` holds its encoded answers yet (fragment.ts keeps them in `encodedNode`). */
const encoded = (index: DnsIndex, name: string): boolean =>
  (index.envs.get('default')!.get(nameKey(name)) as unknown as { encodedNode: NameNode | null }).encodedNode !== null;

/** The app's names as an encoding at build time gives them: name → record type → answer bytes. */
function eager(svc: Service): Map<string, Record<string, string | undefined>> {
  const zone = 'berth.internal';
  const { names } = serviceRecords(svc, { zoneOf: () => zone, environments: {} });
  const arena = new Arena();
  const nodes = [...names].map(([name, recs]) => [name, encodeNode(arena, name, recs, zone, null, 'ns.berth.internal', names, options.ttl)] as const);
  const buf = arena.seal();
  const hex = (n: NameNode, f: 'a' | 'srv' | 'any') => {
    const e = n[f];
    return e && buf.subarray(e.off, e.off + e.len).toString('hex');
  };
  return new Map(nodes.map(([name, n]) => [name, { a: hex(n, 'a'), srv: hex(n, 'srv'), any: hex(n, 'any') }]));
}

describe('deferred encoding of an app’s names', () => {
  it('encodes nothing at build; the first question encodes all of that app’s names and no other app’s', () => {
    const index = buildIndex([web, api], options, { loaded: true, position: 1, serial: 1 });
    const webNames = [...eager(web).keys()];
    expect(webNames.length).toBeGreaterThan(3); // the domain, its SRV names and one name per task
    for (const n of [...webNames, ...eager(api).keys()]) expect(encoded(index, n)).toBe(false);

    const out = respond(query('_http._tcp.web.berth.internal', TYPE.SRV), index, 'default', true, false);
    expect(Packet.parse(out.reply!).answers).toHaveLength(3);
    for (const n of webNames) expect(encoded(index, n)).toBe(true);
    for (const n of eager(api).keys()) expect(encoded(index, n)).toBe(false);
  });

  it('serves the bytes an encoding at build time gives, for every record type of every name', () => {
    const index = buildIndex([web, api], options, { loaded: true, position: 1, serial: 1 });
    for (const svc of [web, api]) {
      for (const [name, want] of eager(svc)) {
        const node = index.envs.get('default')!.get(nameKey(name))!;
        for (const f of ['a', 'srv', 'any'] as const) {
          const e = node[f];
          expect([name, f, e && (e.buf ?? node.buf)!.subarray(e.off, e.off + e.len).toString('hex')]).toEqual([name, f, want[f]]);
        }
      }
    }
  });

  it('still skips an app whose values the encoder would refuse when the index is built, not at its first question', () => {
    const bad = aService({ domains: ['bad.berth.internal'], endpoints: [{ ...endpoints(1, 3)[0], port: 70000 }] });
    const index = buildIndex([bad, web], options, { loaded: true, position: 1, serial: 1 });
    expect(index.skipped).toEqual([expect.stringMatching(/^\/bad: not a 16-bit value: 70000/)]);
    expect(index.envs.get('default')!.has(nameKey('bad.berth.internal'))).toBe(false);
  });

  it('refuses a TTL the encoder cannot write when the builder is made', () => {
    expect(() => new IndexBuilder({ ...options, ttl: 2 ** 31 })).toThrow(/bad TTL/);
    expect(() => new IndexBuilder({ ...options, ttl: 1.5 })).toThrow(/bad TTL/);
  });
});
