import { Command } from 'commander';
import { loadConfig } from '../../config/load';
import { openDatabase } from '../../db/knex';
import { pendingMigrations } from '../../db/migrations';
import { CliExit, EXIT, table, type CliContext } from '../context';

interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

/** `berth check`: validates configuration and reaches every configured dependency once. */
export function checkCommand(ctx: CliContext): Command {
  return new Command('check')
    .description('validate configuration and check connectivity (database, Marathon)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const config = loadConfig(ctx.env);
      const results: CheckResult[] = [{ name: 'config', ok: true, detail: 'valid' }];
      const db = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
      try {
        await db.knex.raw('select 1');
        const pending = await pendingMigrations(db.knex);
        results.push({
          name: 'database',
          ok: true,
          detail: `${db.describe}; ${pending.length ? `pending migrations: ${pending.join(', ')}` : 'schema up to date'}`,
        });
      } catch (e) {
        results.push({ name: 'database', ok: false, detail: `${db.describe}: ${(e as Error).message}` });
      } finally {
        await db.close().catch(() => undefined);
      }
      for (const url of config.marathon.urls) results.push(await checkMarathon(url, config.marathon));
      if (config.marathon.urls.length === 0) results.push({ name: 'marathon', ok: true, detail: 'not configured (IPAM and API only)' });
      if (opts.json) ctx.out(JSON.stringify({ ok: results.every((r) => r.ok), checks: results }, null, 2));
      else for (const l of table(results.map((r) => [r.ok ? 'ok' : 'FAIL', r.name, r.detail]))) ctx.out(l);
      if (!results.every((r) => r.ok)) throw new CliExit(EXIT.FAILURE, 'some checks failed');
    });
}

async function checkMarathon(url: string, auth: { username?: string; password?: string; token?: string }): Promise<CheckResult> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (auth.username) headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password ?? ''}`).toString('base64')}`;
  if (auth.token) headers.authorization = `token=${auth.token}`;
  try {
    const res = await fetch(`${url}/v2/info`, { headers, signal: AbortSignal.timeout(5000), redirect: 'follow' });
    const body = (await res.json().catch(() => ({}))) as { version?: string; leader?: string };
    if (!res.ok) return { name: `marathon ${url}`, ok: false, detail: `HTTP ${res.status}` };
    return { name: `marathon ${url}`, ok: true, detail: `version ${body.version ?? '?'}, leader ${body.leader ?? '?'}` };
  } catch (e) {
    return { name: `marathon ${url}`, ok: false, detail: (e as Error).message };
  }
}
