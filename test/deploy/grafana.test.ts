import fs from 'node:fs';
import path from 'node:path';
import { Registry } from 'prom-client';
import { registerProcessMetrics } from '../../src/runtime/process-metrics';
import { DASHBOARD, dashboardExprs, unknownMetrics } from './dashboard';

/** Metric names defined in src/<concern>/metrics.ts (literal names, and the IPAM pool gauges built from their keys). */
function definedMetrics(): Set<string> {
  const src = path.resolve(__dirname, '../../src');
  const names = new Set<string>();
  for (const concern of fs.readdirSync(src)) {
    const file = path.join(src, concern, 'metrics.ts');
    if (!fs.existsSync(file)) continue;
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/name: '(berth_[a-z0-9_]+)'/g)) names.add(m[1]);
    // Template names: `berth_ipam_pool_${key}_addresses` over the GAUGES table's keys.
    for (const m of text.matchAll(/name: `(berth_[a-z0-9_]*)\$\{key\}([a-z0-9_]*)`/g)) {
      for (const k of text.matchAll(/\['([a-z_]+)', '/g)) names.add(`${m[1]}${k[1]}${m[2]}`);
    }
  }
  return names;
}

describe('Grafana dashboard', () => {
  it('is a dashboard JSON with a Prometheus datasource input and panels with queries', () => {
    const dash = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8'));
    expect(dash.title).toBe('berth');
    expect(dash.__inputs[0]).toMatchObject({ name: 'DS_PROMETHEUS', pluginId: 'prometheus' });
    expect(dashboardExprs().length).toBeGreaterThan(30);
    const ids = dash.panels.map((p: { id: number }) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('references only metrics berth defines (src/*/metrics.ts and the berth_process_ defaults)', async () => {
    const defined = definedMetrics();
    expect(defined.has('berth_ipam_pool_allocated_addresses')).toBe(true);
    const reg = new Registry();
    registerProcessMetrics(reg); // what src/main.ts registers
    for (const m of (await reg.getMetricsAsJSON()) as Array<{ name: string }>) defined.add(m.name);
    expect(unknownMetrics((n) => defined.has(n))).toEqual([]);
  });

  it('covers every concern', () => {
    const all = dashboardExprs()
      .map((e) => e.expr)
      .join('\n');
    for (const concern of ['marathon', 'registry', 'nginx', 'dns', 'ipam', 'http', 'cluster', 'process']) expect(all).toContain(`berth_${concern}_`);
  });
});
