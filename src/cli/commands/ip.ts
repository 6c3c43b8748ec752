import { Command } from 'commander';
import { callApi } from '../api-client';
import { CliExit, EXIT, emit, table, type CliContext } from '../context';
import type { Allocation } from '../../ipam/types';
import { outputTo, withApiOptions } from './pools';

type Common = { api?: string; token?: string; json?: boolean };

const path = (pool: string, appId: string) => `/v1/pools/${encodeURIComponent(pool)}/allocations/${encodeURIComponent(appId)}`;

function checkAppIdArg(appId: string): string {
  // The API validates fully; this catches the common slip of leaving out the leading slash.
  if (!appId.startsWith('/')) throw new CliExit(EXIT.USAGE, `app id "${appId}" must be a Marathon path such as /team/app-1`);
  return appId;
}

/** `berth ip allocate|release|show`. */
export function ipCommand(ctx: CliContext): Command {
  const ip = new Command('ip').description('allocate and release fixed container IPs (talks to a running berth)');

  ip.addCommand(
    withApiOptions(
      new Command('allocate')
        .description("allocate an address for a Marathon app id (idempotent: prints the app's address if it has one)")
        .argument('<pool>')
        .argument('<appId>', 'Marathon app id, e.g. /team/app-1')
        .option('--ip <address>', 'ask for this exact address'),
    ).action(async (pool: string, appId: string, o: Common & { ip?: string }) => {
      const { status, body } = await callApi<Allocation>(o, ctx.env, 'PUT', path(pool, checkAppIdArg(appId)), o.ip ? { ip: o.ip } : {});
      emit(ctx, !!o.json, { ...body, created: status === 201 }, (a: Allocation & { created: boolean }) => [
        `${a.ip}/${a.prefixLength}  ${a.appId}  pool ${a.pool}  gateway ${a.gateway ?? '-'}  allocation ${a.allocationId}  (${a.created ? 'new' : 'existing'})`,
      ]);
    }),
  );

  ip.addCommand(
    withApiOptions(
      new Command('release')
        .description("release the app's address into quarantine (no error when it holds none)")
        .argument('<pool>')
        .argument('<appId>')
        .option('--allocation-id <n>', 'release only this allocation (refused if the app holds a newer one)'),
    ).action(async (pool: string, appId: string, o: Common & { allocationId?: string }) => {
      if (o.allocationId !== undefined && !/^[1-9]\d*$/.test(o.allocationId))
        throw new CliExit(EXIT.USAGE, `--allocation-id "${o.allocationId}": expected a positive integer`);
      await callApi(o, ctx.env, 'DELETE', `${path(pool, checkAppIdArg(appId))}${o.allocationId ? `?allocationId=${o.allocationId}` : ''}`);
      emit(ctx, !!o.json, { released: true, pool, appId }, () => [`released ${appId} in pool ${pool}`]);
    }),
  );

  ip.addCommand(
    withApiOptions(
      new Command('show').description("show an app's addresses (every pool, or one with --pool)").argument('<appId>').option('--pool <name>', 'only this pool'),
    ).action(async (appId: string, o: Common & { pool?: string }) => {
      checkAppIdArg(appId);
      let list: Allocation[];
      if (o.pool) {
        const { status, body } = await callApi<Allocation>(o, ctx.env, 'GET', path(o.pool, appId), undefined, { allow: [404] });
        list = status === 404 && (body as unknown as { code?: string }).code === 'ALLOCATION_NOT_FOUND' ? [] : status === 404 ? fail(body) : [body];
      } else {
        list = (await callApi<{ allocations: Allocation[] }>(o, ctx.env, 'GET', `/v1/allocations?appId=${encodeURIComponent(appId)}`)).body.allocations;
      }
      emit(ctx, !!o.json, { appId, allocations: list }, (v: { allocations: Allocation[] }) =>
        v.allocations.length
          ? table([
              ['POOL', 'IP', 'GATEWAY', 'ALLOCATION', 'SINCE'],
              ...v.allocations.map((a) => [a.pool, `${a.ip}/${a.prefixLength}`, a.gateway ?? '-', String(a.allocationId), a.allocatedAt]),
            ])
          : [`${appId} holds no address`],
      );
      if (list.length === 0) throw new CliExit(EXIT.FAILURE, `${appId} holds no address${o.pool ? ` in pool ${o.pool}` : ''}`);
    }),
  );
  return outputTo(ctx, ip);
}

function fail(body: unknown): never {
  const e = body as { code?: string; message?: string };
  throw new CliExit(EXIT.FAILURE, `${e.code ?? 'ERROR'}: ${e.message ?? 'request failed'}`);
}
