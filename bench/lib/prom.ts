/** Reading a berth process's Prometheus text. */

export async function metricsText(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

/** Sum of every series of one metric name (all label sets), or of those whose labels contain `labels` (e.g. `reason="start"`). */
export function metricSum(text: string, name: string, labels?: string): number {
  const re = new RegExp(`^${name}(\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'gm');
  return [...text.matchAll(re)].filter((m) => !labels || (m[1] ?? '').includes(labels)).reduce((s, m) => s + Number(m[2]), 0);
}

/** Every label set of one metric with its value (`{reason="start"}` → 1). */
export function metricSeries(text: string, name: string): Record<string, number> {
  const re = new RegExp(`^${name}(\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'gm');
  return Object.fromEntries([...text.matchAll(re)].map((m) => [m[1] ?? '', Number(m[2])]));
}

/**
 * The `q` quantile (0–1) of a histogram's observations between two scrapes, as the upper bound of
 * its bucket (seconds). `labels`: the series' other labels as prom-client writes them after `le` (`,stage="dns"`).
 */
export function histogramQuantile(before: string, after: string, name: string, q: number, labels = ''): number | null {
  const buckets = (text: string) =>
    [...text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"${labels}\\} ([0-9.eE+-]+)$`, 'gm'))].map((m) => ({
      le: m[1] === '+Inf' ? Infinity : Number(m[1]),
      n: Number(m[2]),
    }));
  const b0 = new Map(buckets(before).map((b) => [b.le, b.n]));
  const d = buckets(after).map((b) => ({ le: b.le, n: b.n - (b0.get(b.le) ?? 0) }));
  const total = d.find((b) => b.le === Infinity)?.n ?? 0;
  if (total === 0) return null;
  return d.find((b) => b.n >= q * total)?.le ?? null;
}
