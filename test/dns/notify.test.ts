/**
 * NOTIFY (RFC 1996) when the serial changes: a real NSD secondary on loopback transfers from berth
 * and, told by NOTIFY, answers a new name within seconds (its refresh timer is an hour); a tiny
 * UDP listener shows the retries until an acknowledgement and the give-up after the last one.
 */
import dgram from 'node:dgram';
import { describeWithTools } from '../support/tools';
import { waitFor } from '../support/wait';
import { aService, dig, endpoints, load, startServer, type Started } from './helpers';
import { NSD_BIN, startNsd, type Nsd } from './nsd';

async function counter(s: Started, name: string, result: string): Promise<number> {
  const m = await s.registry.getSingleMetric(name)!.get();
  return m.values.find((v) => v.labels.result === result)?.value ?? 0;
}

const base = () => [aService({ domains: ['web.berth.internal'] }, 2)];

describeWithTools(['dig', NSD_BIN], 'an NSD secondary of berth', () => {
  let s: Started;
  let nsd: Nsd;
  beforeAll(async () => {
    s = await startServer(base(), { transferAllow: ['127.0.0.1/32'] });
    nsd = await startNsd(s.port, ['berth.internal']);
  });
  afterAll(async () => {
    await nsd?.stop();
    await s?.server.stop();
  });

  it('transfers the zone from berth and answers its names', async () => {
    const r = await waitFor(
      async () => {
        const x = await dig(nsd.port, ['web.berth.internal', 'A']);
        return x.answers.length > 0 && x;
      },
      10_000,
      () => nsd.log(),
    );
    expect(r.answers.sort()).toEqual(['web.berth.internal. 10 IN A 10.1.1.1', 'web.berth.internal. 10 IN A 10.1.1.2']);
    expect(r.flags).toContain('aa');
  });
});

describeWithTools(['dig', NSD_BIN], 'NOTIFY to an NSD secondary', () => {
  let s: Started;
  let nsd: Nsd;
  let primary: number;
  beforeAll(async () => {
    // NSD needs berth's port and berth needs NSD's: berth on a port picked first, NSD after it.
    const probe = await startServer(base(), { transferAllow: ['127.0.0.1/32'] });
    primary = probe.port;
    await probe.server.stop();
    nsd = await startNsd(primary, ['berth.internal']);
    s = await startServer(base(), { port: primary, transferAllow: ['127.0.0.1/32'], notify: [`127.0.0.1:${nsd.port}`] });
  });
  afterAll(async () => {
    await nsd?.stop();
    await s?.server.stop();
  });

  it('answers a new name within seconds of the change, told by NOTIFY, over IXFR', async () => {
    await waitFor(
      async () => (await dig(nsd.port, ['web.berth.internal', 'A'])).answers.length > 0,
      10_000,
      () => nsd.log(),
    );
    const t0 = Date.now();
    await load(s, [...base(), aService({ domains: ['fresh.berth.internal'], endpoints: endpoints(1, 9) })]);
    const r = await waitFor(
      async () => {
        const x = await dig(nsd.port, ['fresh.berth.internal', 'A']);
        return x.answers.length > 0 && x;
      },
      8_000,
      () => nsd.log(),
    );
    const seconds = (Date.now() - t0) / 1000;
    expect(r.answers).toEqual(['fresh.berth.internal. 10 IN A 10.1.9.1']);
    expect(seconds).toBeLessThan(5); // the SOA refresh is 3600 s: only NOTIFY makes it this quick
    expect(await counter(s, 'berth_dns_notifies_total', 'acked')).toBeGreaterThanOrEqual(1);
    // NSD asked for the difference since the version it holds, and got it incrementally.
    expect(await counter(s, 'berth_dns_transfers_total', 'ixfr')).toBeGreaterThanOrEqual(1);
  });
});

/** A UDP socket on loopback that records NOTIFY messages and acknowledges them from the `ackFrom`-th on. */
async function listener(ackFrom: number): Promise<{ port: number; got: Buffer[]; close(): void }> {
  const sock = dgram.createSocket('udp4');
  const got: Buffer[] = [];
  sock.on('message', (m, r) => {
    got.push(m);
    if (got.length < ackFrom) return;
    const ack = Buffer.from(m.subarray(0, 12));
    ack[2] |= 0x80;
    ack.writeUInt16BE(0, 4);
    ack.writeUInt16BE(0, 6);
    sock.send(ack, r.port, r.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  return { port: sock.address().port, got, close: () => sock.close() };
}

describe('NOTIFY retries', () => {
  it('sends a NOTIFY per zone when the serial changes, retries until acknowledged, and gives up after the last attempt', async () => {
    const acking = await listener(2); // ignores the first NOTIFY, acknowledges the retry
    const silent = await listener(Infinity);
    const s = await startServer(base(), { notify: [`127.0.0.1:${acking.port}`, `127.0.0.1:${silent.port}`], notifyRetryMs: 50, reverseNetworks: [] });
    try {
      await load(s, [...base(), aService({ domains: ['more.berth.internal'], endpoints: endpoints(1, 9) })]);
      await waitFor(async () => (await counter(s, 'berth_dns_notifies_total', 'failed')) >= 1, 10_000);
      const serial = s.server.currentIndex().serial;
      // Opcode NOTIFY, AA, the zone's SOA question and the new SOA as a hint (RFC 1996 §3.7).
      const last = acking.got[acking.got.length - 1];
      expect((last[2] >> 3) & 0x0f).toBe(4);
      expect(last[2] & 0x04).toBe(0x04);
      expect(last.readUInt16BE(6)).toBe(1);
      expect(last.readUInt32BE(last.length - 20)).toBe(serial);
      expect(await counter(s, 'berth_dns_notifies_total', 'acked')).toBeGreaterThanOrEqual(1);
      expect(acking.got.length).toBeGreaterThanOrEqual(2);
      // Five attempts per NOTIFY (one id each; a newer serial replaces one still being retried), then it stops.
      const perId = new Map<number, number>();
      for (const m of silent.got) perId.set(m.readUInt16BE(0), (perId.get(m.readUInt16BE(0)) ?? 0) + 1);
      expect([...perId.values()].every((n) => n <= 5)).toBe(true);
      expect(perId.get(silent.got[silent.got.length - 1].readUInt16BE(0))).toBe(5);
    } finally {
      await s.server.stop();
      acking.close();
      silent.close();
    }
  });
});
