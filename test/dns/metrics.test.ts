/** DNS metric names follow berth_<concern>_<what>_<unit>, counters end in _total. */
import { Registry } from 'prom-client';
import { createDnsMetrics } from '../../src/dns/metrics';

it('names every DNS metric berth_dns_*, counters *_total, histograms with a unit', async () => {
  const registry = new Registry();
  const m = createDnsMetrics(registry);
  m.query(1, 0, 0.00002);
  const metrics = await registry.getMetricsAsJSON();
  expect(metrics.length).toBeGreaterThanOrEqual(7);
  for (const metric of metrics) {
    expect(metric.name).toMatch(/^berth_dns_[a-z_]+$/);
    if (String(metric.type) === 'counter') expect(metric.name).toMatch(/_total$/);
    if (String(metric.type) === 'histogram') expect(metric.name).toMatch(/_seconds$/);
  }
  const text = await registry.metrics();
  expect(text).toMatch(/berth_dns_query_duration_seconds_bucket\{le="0.000025"\} 1/);
  expect(text).toMatch(/berth_dns_queries_total\{type="A",rcode="NOERROR"\} 1/);
});
