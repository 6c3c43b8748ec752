import { Command } from 'commander';
import { loadConfig } from '../../config/load';
import type { Service } from '../../model/types';
import { formatDryRun, renderDryRun } from '../../nginx/dry-run';
import { InMemoryRegistryView } from '../../registry/view';
import { callApi } from '../api-client';
import { CliExit, EXIT, type CliContext } from '../context';
import { withApiOptions } from './pools';

/**
 * `berth render --dry-run`: what the next Nginx sync would write, as a diff against the files on
 * disk. The services come from the running berth's API (so it works next to the embedded
 * database, which only one process may open); nothing is written and Nginx is not touched.
 */
export function renderCommand(ctx: CliContext): Command {
  return withApiOptions(
    new Command('render')
      .description('show what the Nginx sync would write (with --dry-run: summary and diff against BERTH_NGINX_DIR)')
      .option('--dry-run', 'do not write anything (required: berth writes files only through the daemon)'),
  ).action(async (opts: { dryRun?: boolean; api?: string; token?: string; json?: boolean }) => {
    if (!opts.dryRun) throw new CliExit(EXIT.USAGE, 'render only supports --dry-run; the daemon writes the files');
    const config = loadConfig(ctx.env);
    const { body } = await callApi<{ position: number; loaded: boolean; services: Service[] }>(opts, ctx.env, 'GET', '/v1/services');
    const view = new InMemoryRegistryView();
    view.set(body.services);
    const result = await renderDryRun({
      view,
      dir: config.nginx.dir,
      templatesDir: config.nginx.templates,
      httpListen: config.nginx.httpListen,
      dynamic: config.nginx.dynamic,
      tls: { dir: config.tls.dir, httpsListen: config.nginx.httpsListen },
    });
    if (opts.json) ctx.out(JSON.stringify({ ...result, position: body.position, loaded: body.loaded }, null, 2));
    else ctx.out(formatDryRun({ ...result, position: body.position, loaded: body.loaded }).replace(/\n$/, ''));
  });
}
