/** BERTH_DNS_FORWARDERS: names outside the zones go upstream (UDP and TCP), with a timeout and SERVFAIL on failure. */
import dgram from 'node:dgram';
import net from 'node:net';
import { itWithTools } from '../support/tools';
import { aService, dig, endpoints, startServer, type Started } from './helpers';

let upstream: Started;
let blackHoleUdp: dgram.Socket;
let blackHoleTcp: net.Server;
let holePort: number;
const held: net.Socket[] = [];

beforeAll(async () => {
  // The upstream is another berth, authoritative for example.org.
  upstream = await startServer([aService({ domains: ['www.example.org'], endpoints: endpoints(1, 5) })], { zones: ['example.org'] });
  // A resolver that never answers, on UDP and TCP (the same port).
  blackHoleUdp = dgram.createSocket('udp4');
  await new Promise<void>((r) => blackHoleUdp.bind(0, '127.0.0.1', r));
  holePort = blackHoleUdp.address().port;
  blackHoleTcp = net.createServer((c) => held.push(c));
  await new Promise<void>((r) => blackHoleTcp.listen(holePort, '127.0.0.1', r));
});
afterAll(async () => {
  await upstream.server.stop();
  blackHoleUdp.close();
  for (const c of held) c.destroy();
  await new Promise((r) => blackHoleTcp.close(r));
});

itWithTools(['dig'], 'forwards names outside its zones over UDP and TCP and relays the answer', async () => {
  const s = await startServer([aService({ domains: ['web.berth.internal'] })], { forwarders: [`127.0.0.1:${upstream.port}`] });
  try {
    const r = await dig(s.port, ['www.example.org', 'A']);
    expect(r.status).toBe('NOERROR');
    expect(r.answers).toEqual(['www.example.org. 10 IN A 10.1.5.1']);
    expect((await dig(s.port, ['+tcp', 'www.example.org', 'A'])).answers).toEqual(r.answers);
    expect((await dig(s.port, ['nosuch.example.org', 'A'])).status).toBe('NXDOMAIN'); // upstream's answer, relayed
    // Its own zones are still answered locally.
    expect((await dig(s.port, ['web.berth.internal', 'A'])).flags).toContain('aa');
    expect(await s.registry.metrics()).toMatch(/berth_dns_forwarded_queries_total\{result="ok"\} 3/);
  } finally {
    await s.server.stop();
  }
});

itWithTools(['dig'], 'answers SERVFAIL when every forwarder times out, without holding up other queries', async () => {
  const s = await startServer([aService({ domains: ['web.berth.internal'] })], { forwarders: [`127.0.0.1:${holePort}`], forwardTimeoutMs: 1000 });
  try {
    const finished: string[] = [];
    // The upstream gives up after 1 s; dig waits 5 s so a loaded machine cannot turn SERVFAIL into no answer.
    const pending = [1, 2, 3, 4, 5].map((i) =>
      dig(s.port, ['+time=5', `q${i}.example.com`, 'A']).then((r) => {
        finished.push('forwarded');
        return r;
      }),
    );
    const local = await dig(s.port, ['web.berth.internal', 'A']);
    finished.push('local');
    expect(local.status).toBe('NOERROR');
    for (const r of await Promise.all(pending)) expect(r.status).toBe('SERVFAIL');
    expect(finished[0]).toBe('local'); // not queued behind the hung upstream
    expect((await dig(s.port, ['+tcp', '+time=5', 'q6.example.com', 'A'])).status).toBe('SERVFAIL');
    expect(await s.registry.metrics()).toMatch(/berth_dns_forwarded_queries_total\{result="timeout"\} 6/);
  } finally {
    await s.server.stop();
  }
});

itWithTools(['dig'], 'moves on to the next forwarder when one does not answer', async () => {
  const s = await startServer([], { forwarders: [`127.0.0.1:${holePort}`, `127.0.0.1:${upstream.port}`], forwardTimeoutMs: 200 });
  try {
    const r = await dig(s.port, ['www.example.org', 'A']);
    expect(r.answers).toEqual(['www.example.org. 10 IN A 10.1.5.1']);
  } finally {
    await s.server.stop();
  }
});
