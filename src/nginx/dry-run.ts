import type { RegistryView } from '../registry/view';
import { readManagedFiles } from './files';
import { planSync } from './plan';
import { renderServices } from './render';
import type { DynamicMode } from './template-context';
import type { RenderRejection } from './rendered-file';
import { TlsCatalog } from './tls-catalog';
import { loadTemplates } from './templates';
import { unifiedDiff } from './diff';

export interface DryRunFile {
  path: string;
  action: 'write' | 'remove';
  /** New content (null for a removal). */
  content: string | null;
}

/** What a sync would do now, without touching disk or Nginx. */
export interface DryRunResult {
  position: number;
  loaded: boolean;
  files: DryRunFile[];
  unchanged: number;
  rejected: RenderRejection[];
  /** Unified diff of every change against the files on disk ('' when nothing differs). */
  diff: string;
}

/** Renders the registry and compares it with `dir` (for `berth render --dry-run`). */
export async function renderDryRun(opts: {
  view: RegistryView;
  dir: string;
  templatesDir: string;
  httpListen: string;
  dynamic?: DynamicMode;
  /** BERTH_TLS_DIR and BERTH_NGINX_HTTPS_LISTEN, so HTTPS blocks are rendered as the daemon would. */
  tls?: { dir: string; httpsListen: string };
}): Promise<DryRunResult> {
  const snapshot = await opts.view.snapshot();
  const templates = await loadTemplates(opts.templatesDir, { lua: opts.dynamic === 'lua' });
  const tls = opts.tls ? await new TlsCatalog(opts.tls.dir, 0, null).resolve(snapshot.services, Date.now()) : null;
  const tlsInput = opts.tls && tls ? { httpsListen: opts.tls.httpsListen, plans: tls.plans } : undefined;
  const rendered = renderServices(snapshot.services, templates, opts.httpListen, undefined, opts.dynamic, tlsInput);
  const disk = await readManagedFiles(opts.dir);
  const keep = new Set(rendered.rejected.map((r) => r.path).filter((p): p is string => p !== null));
  const plan = planSync(rendered.files, disk, keep);
  const diff = plan.changes
    .map((c) =>
      unifiedDiff(c.before?.toString() ?? '', c.content ?? '', c.before ? `a/${c.path}` : '/dev/null', c.content !== null ? `b/${c.path}` : '/dev/null'),
    )
    .join('');
  return {
    position: snapshot.position,
    loaded: snapshot.loaded,
    files: plan.changes.map((c) => ({ path: c.path, action: c.content === null ? 'remove' : 'write', content: c.content })),
    unchanged: rendered.files.length - plan.changes.filter((c) => c.content !== null).length,
    rejected: rendered.rejected,
    diff,
  };
}

/** Text for `berth render --dry-run`: a summary, one line per change and rejection, then the diff. */
export function formatDryRun(r: DryRunResult): string {
  const lines = [`registry position ${r.position}${r.loaded ? '' : ' (never loaded: a real sync would be held)'}`];
  lines.push(
    `${r.files.filter((f) => f.action === 'write').length} to write, ${r.files.filter((f) => f.action === 'remove').length} to remove, ${r.unchanged} unchanged`,
  );
  for (const f of r.files) lines.push(`  ${f.action === 'write' ? 'write ' : 'remove'} ${f.path}`);
  for (const x of r.rejected) lines.push(`  skip   ${x.env} ${x.appId}: ${x.code}: ${x.message}`);
  return `${lines.join('\n')}\n${r.diff ? `\n${r.diff}` : ''}`;
}
