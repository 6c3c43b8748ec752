import { Registry } from 'prom-client';
import { createIpamMetrics } from '../../src/ipam/metrics';

describe('IPAM metrics', () => {
  test('per-pool gauges come from one cached usage query per scrape', async () => {
    const registry = new Registry();
    let calls = 0;
    let now = 0;
    createIpamMetrics(registry, {
      usage: async () => {
        calls++;
        return new Map([['blue', { capacity: 254, allocated: 10, quarantined: 2, reserved: 3, available: 239 }]]);
      },
      now: () => now,
    });
    const text = await registry.metrics();
    expect(text).toContain('berth_ipam_pool_capacity_addresses{pool="blue"} 254');
    expect(text).toContain('berth_ipam_pool_allocated_addresses{pool="blue"} 10');
    expect(text).toContain('berth_ipam_pool_available_addresses{pool="blue"} 239');
    expect(calls).toBe(1);
    await registry.metrics();
    expect(calls).toBe(1);
    now = 10000;
    await registry.metrics();
    expect(calls).toBe(2);
  });

  test('names follow berth_<concern>_<what>_<unit>', async () => {
    const registry = new Registry();
    createIpamMetrics(registry, { usage: async () => new Map() });
    for (const m of await registry.getMetricsAsJSON()) {
      expect(m.name).toMatch(/^berth_ipam_[a-z_]+_(addresses|seconds|total)$/);
    }
  });

  test('a failing database does not fail the scrape', async () => {
    const registry = new Registry();
    createIpamMetrics(registry, { usage: async () => Promise.reject(new Error('down')) });
    await expect(registry.metrics()).resolves.toContain('berth_ipam_errors_total');
  });
});
