import { Registry } from 'prom-client';
import { createRegistryMetrics } from '../../src/registry/metrics';

describe('registry metrics', () => {
  test('names follow berth_registry_<what>_<unit>, counters end in _total', async () => {
    const reg = new Registry();
    createRegistryMetrics(reg);
    const metrics = await reg.getMetricsAsJSON();
    expect(metrics.length).toBeGreaterThan(5);
    for (const m of metrics) {
      expect(m.name).toMatch(/^berth_registry_[a-z_]+$/);
      if (String(m.type) === 'counter') expect(m.name).toMatch(/_total$/);
      else expect(m.name).not.toMatch(/_total$/);
      if (String(m.type) === 'histogram') expect(m.name).toMatch(/_seconds$/);
    }
  });
});
