/**
 * Index build cost at the scale of the targets in docs/architecture.md (10,000 apps, 30,000 tasks): a cold build, and the
 * rebuild after one app changed (what every registry change costs in steady state).
 * Standalone: `node --import tsx bench/dns/index-build.ts`.
 */
import { IndexBuilder, type DnsIndex } from '../../src/dns/build';
import type { Service } from '../../src/model/types';

export interface BuildResult {
  apps: number;
  names: number;
  coldMs: number;
  warmMs: number[];
  warmP50Ms: number;
  warmMaxMs: number;
}

function apps(n: number, version: string, changed = -1): Service[] {
  const out: Service[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      env: i % 5 === 0 ? 'qa' : 'default',
      appId: `/team${i % 50}/app${i}`,
      domains: [`app${i}.team${i % 50}.berth.internal`],
      proxy: 'http',
      listen: null,
      dns: 'direct',
      portName: 'http',
      servicePort: 8080,
      fixedIp: null,
      version: i === changed ? version : 'v1',
      endpoints: [1, 2, 3].map((k) => ({
        taskId: `team${i % 50}_app${i}.${(k * 0x1000000 + i).toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`,
        address: `10.${(i >> 8) & 255}.${i & 255}.${i === changed && k === 1 ? 99 : k}`,
        port: 31000 + k,
        host: `agent${k}`,
      })),
    });
  }
  return out;
}

function run(builder: IndexBuilder, services: Service[], position: number): { ms: number; index: DnsIndex } {
  const t0 = performance.now();
  const steps = builder.build(services, { loaded: true, position, serial: position });
  for (;;) {
    const r = steps.next();
    if (r.done) return { ms: performance.now() - t0, index: r.value };
  }
}

/** Measures a cold build and `rounds` one-app-changed rebuilds. */
export function measureIndexBuild(n = 10_000, rounds = 10): BuildResult {
  const builder = new IndexBuilder({
    zones: ['berth.internal'],
    reverseNetworks: ['10.0.0.0/8'],
    ttl: 10,
    defaultEnv: 'default',
    environments: { qa: { clients: ['127.0.0.2/32'], proxyAddresses: ['10.200.0.1'] } },
  });
  const cold = run(builder, apps(n, 'v1'), 1);
  const warm: number[] = [];
  for (let r = 0; r < rounds; r++) warm.push(run(builder, apps(n, `v${r + 2}`, (r * 997) % n), r + 2).ms);
  const sorted = [...warm].sort((a, b) => a - b);
  return {
    apps: n,
    names: cold.index.names,
    coldMs: cold.ms,
    warmMs: warm,
    warmP50Ms: sorted[Math.floor(sorted.length / 2)],
    warmMaxMs: sorted[sorted.length - 1],
  };
}

if (require.main === module) {
  const r = measureIndexBuild();
  console.log(
    `index build, ${r.apps} apps / ${r.names} names: cold ${r.coldMs.toFixed(0)} ms; one app changed: p50 ${r.warmP50Ms.toFixed(0)} ms, max ${r.warmMaxMs.toFixed(0)} ms`,
  );
}
