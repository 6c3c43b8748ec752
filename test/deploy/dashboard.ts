import fs from 'node:fs';
import path from 'node:path';

export const DASHBOARD = path.resolve(__dirname, '../../deploy/grafana/berth-dashboard.json');

interface Panel {
  title?: string;
  targets?: Array<{ expr?: string }>;
  panels?: Panel[];
}

/** Every PromQL expression in the dashboard, with its panel title. */
export function dashboardExprs(): Array<{ panel: string; expr: string }> {
  const dash = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[]; templating: { list: Array<{ definition?: string }> } };
  const out: Array<{ panel: string; expr: string }> = [];
  const walk = (ps: Panel[]) =>
    ps.forEach((p) => {
      for (const t of p.targets ?? []) if (t.expr) out.push({ panel: p.title ?? '?', expr: t.expr });
      walk(p.panels ?? []);
    });
  walk(dash.panels);
  for (const v of dash.templating.list) if (v.definition) out.push({ panel: 'variable', expr: v.definition });
  return out;
}

/** Metric names the dashboard references that `exists` does not know (histogram suffixes resolved). */
export function unknownMetrics(exists: (name: string) => boolean): string[] {
  const missing = new Set<string>();
  for (const { panel, expr } of dashboardExprs()) {
    for (const name of expr.match(/\bberth_[a-z0-9_]+/g) ?? []) {
      const base = name.replace(/_(bucket|sum|count)$/, '');
      if (!exists(name) && !exists(base)) missing.add(`${name} (panel "${panel}")`);
    }
  }
  return [...missing];
}
