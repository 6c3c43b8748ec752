/**
 * `whenDnsServes`: what an Nginx run waits on before rendering a registry position. It resolves
 * once the DNS index is loaded at that position or later, never earlier, and after its bound when
 * DNS does not get there (a failing build must not hold Nginx back). `dnsFirst`, the hook berth
 * gives the sync, says once when such a wait ran out.
 */
import type { DnsIndex } from '../../src/dns/build';
import pino from 'pino';
import { dnsFirst, whenDnsServes } from '../../src/runtime/dns';

class FakeDns {
  index = { loaded: false, position: 0 } as DnsIndex;
  private readonly listeners = new Set<(i: DnsIndex) => void>();
  currentIndex(): DnsIndex {
    return this.index;
  }
  onSwap(l: (i: DnsIndex) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  swap(loaded: boolean, position: number): void {
    this.index = { loaded, position } as DnsIndex;
    for (const l of this.listeners) l(this.index);
  }
  get subscribed(): number {
    return this.listeners.size;
  }
}

const settled = async (p: Promise<unknown>): Promise<boolean> => {
  let done = false;
  void p.then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  return done;
};

it('resolves at once when DNS already serves the position or a later one', async () => {
  const dns = new FakeDns();
  dns.swap(true, 7);
  expect(await settled(whenDnsServes(dns, 7, 60_000))).toBe(true);
  expect(await settled(whenDnsServes(dns, 5, 60_000))).toBe(true);
  expect(dns.subscribed).toBe(0);
});

it('waits through an unloaded index and earlier positions, resolves at the swap that serves it, and unsubscribes', async () => {
  const dns = new FakeDns();
  const p = whenDnsServes(dns, 3, 60_000);
  dns.swap(false, 3); // not loaded: DNS still answers SERVFAIL
  expect(await settled(p)).toBe(false);
  dns.swap(true, 2);
  expect(await settled(p)).toBe(false);
  dns.swap(true, 4);
  expect(await settled(p)).toBe(true);
  expect(dns.subscribed).toBe(0);
});

it('gives up after its bound when DNS never serves the position, and says so', async () => {
  const dns = new FakeDns();
  const started = performance.now();
  expect(await whenDnsServes(dns, 1, 50)).toBe(false);
  expect(performance.now() - started).toBeGreaterThanOrEqual(45);
  expect(dns.subscribed).toBe(0);
  dns.swap(true, 1);
  expect(await whenDnsServes(dns, 1, 50)).toBe(true);
});

it('dnsFirst logs a wait that ran out once, and again only after DNS had caught up in between', async () => {
  const dns = new FakeDns();
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'warn' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  const wait = dnsFirst(dns, logger, 20);
  await wait(1);
  await wait(2); // still behind: not logged again
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({ position: 1, dnsLoaded: false, waitedMs: 20 });
  expect(String(lines[0].msg)).toMatch(/DNS does not serve the registry position/);
  dns.swap(true, 2);
  await wait(2); // served: caught up
  await wait(3); // behind again: a new episode
  expect(lines).toHaveLength(2);
});
