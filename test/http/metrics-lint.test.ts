/** The /metrics of a whole berth passes the checks of `promtool check metrics` (see prom-lint.ts). */
import { lintFamilies, parseExposition } from './prom-lint';
import { startBerth } from './full-berth';

describe('/metrics hygiene', () => {
  it('the checker finds what promtool flags', () => {
    const bad = [
      '# HELP a_total gauge named like a counter',
      '# TYPE a_total gauge',
      'a_total 1',
      '# HELP b_requests counter without suffix',
      '# TYPE b_requests counter',
      'b_requests 2',
      '# HELP c_latency_ms unit',
      '# TYPE c_latency_ms gauge',
      '# HELP c_latency_ms twice',
      'd_orphan 3',
    ].join('\n');
    const { families, problems } = parseExposition(bad);
    expect([...problems, ...lintFamilies(families)].sort()).toEqual([
      'a_total: non-counter (gauge) names should not end in _total',
      'b_requests: counter names should end in _total',
      'c_latency_ms: duplicate HELP (duplicate family)',
      'c_latency_ms: metric names should not contain abbreviated units',
      'd_orphan: sample without HELP/TYPE',
    ]);
  });

  it('every family of a running berth has HELP and TYPE, once, and counters alone end in _total', async () => {
    const { berth, stop } = await startBerth();
    try {
      const res = await fetch(`${berth.url}/metrics`);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const { families, problems } = parseExposition(await res.text());
      expect([...problems, ...lintFamilies(families)]).toEqual([]);
      // Sanity: the scrape is the real one (all concerns), with the renamed process gauges.
      expect(families.size).toBeGreaterThan(60);
      for (const name of [
        'berth_http_errors_total',
        'berth_ipam_errors_total',
        'berth_dns_queries_total',
        'berth_process_nodejs_handles_active',
        'berth_event_loop_delay_seconds',
      ]) {
        expect([name, families.has(name)]).toEqual([name, true]);
      }
      expect(families.has('berth_process_nodejs_active_handles_total')).toBe(false);
    } finally {
      await stop();
    }
  }, 180_000);
});
