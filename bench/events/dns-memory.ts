/**
 * Memory of the DNS index at the events benchmark's scale (10,000 apps / 30,000 tasks, bridge
 * networking: every task on the agent's address): live heap and ArrayBuffers after a full build.
 *   node --expose-gc --import tsx bench/events/dns-memory.ts [apps]
 */
import { randomUUID } from 'node:crypto';
import { IndexBuilder } from '../../src/dns/build';
import type { Service } from '../../src/model/types';

const n = Number(process.argv[2] ?? 10_000);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const mb = (b: number) => `${(b / 1048576).toFixed(1)} MB`;
const services: Service[] = Array.from({ length: n }, (_, i) => ({
  env: 'default',
  appId: `/bench/app-${i}`,
  domains: [`app-${i}.bench.berth.internal`],
  proxy: 'http',
  listen: null,
  dns: 'direct',
  portName: 'http',
  servicePort: 10000 + i,
  fixedIp: null,
  version: '2026-01-01T00:00:00.000Z',
  endpoints: [0, 1, 2].map((k) => ({ taskId: `bench_app-${i}.${randomUUID()}`, address: '127.0.0.1', port: 20000 + i * 3 + k, host: '127.0.0.1' })),
}));
gc();
const before = process.memoryUsage();
const builder = new IndexBuilder({ zones: ['berth.internal'], reverseNetworks: [], ttl: 10, environments: {}, defaultEnv: 'default' });
const t0 = performance.now();
const steps = builder.build(services, { loaded: true, position: 1, serial: 1 });
let r = steps.next();
while (!r.done) r = steps.next();
const ms = performance.now() - t0;
gc();
const after = process.memoryUsage();
console.log(
  `${n} apps, ${r.value.names} names: build ${ms.toFixed(0)} ms; heap +${mb(after.heapUsed - before.heapUsed)}, array buffers +${mb(after.arrayBuffers - before.arrayBuffers)}, rss ${mb(after.rss)}`,
);
