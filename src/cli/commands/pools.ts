import { Command, Option } from 'commander';
import { callApi, type ApiOptions } from '../api-client';
import { CliExit, EXIT, emit, table, type CliContext } from '../context';
import type { PoolSpec, PoolWithUsage } from '../../ipam/types';

type Common = ApiOptions & { json?: boolean };

/** Adds `--api`, `--token` and `--json` (every IPAM command talks to a running berth). */
export function withApiOptions(cmd: Command): Command {
  return cmd
    .option('--api <url>', 'berth API base URL (default: BERTH_API_URL, else from BERTH_HTTP_ADDR, else http://127.0.0.1:8080)')
    .addOption(new Option('--token <token>', 'bearer token for writes (default: BERTH_API_TOKEN)'))
    .option('--json', 'machine-readable output');
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** Routes help and commander's messages for `cmd` and its subcommands through the context. */
export function outputTo(ctx: CliContext, cmd: Command): Command {
  cmd.configureOutput({ writeOut: (s) => ctx.out(s.replace(/\n$/, '')), writeErr: (s) => ctx.err(s.replace(/\n$/, '')) });
  cmd.commands.forEach((c) => outputTo(ctx, c));
  return cmd;
}

function usageRows(pools: PoolWithUsage[]): string[] {
  return table([
    ['NAME', 'CIDR', 'GATEWAY', 'CAPACITY', 'ALLOCATED', 'QUARANTINED', 'RESERVED', 'AVAILABLE', 'DOCKER NETWORK'],
    ...pools.map((p) => [
      p.name,
      p.cidr,
      p.gateway ?? '-',
      String(p.usage.capacity),
      String(p.usage.allocated),
      String(p.usage.quarantined),
      String(p.usage.reserved),
      String(p.usage.available),
      p.dockerNetwork ?? '-',
    ]),
  ]);
}

/** Parses the `pools add` options into a pool definition; bad values are usage errors (exit 2). */
export function poolSpecFromOptions(name: string, cidr: string, o: Record<string, unknown>): PoolSpec {
  const spec: PoolSpec = { name, cidr };
  if (o.gateway) spec.gateway = String(o.gateway);
  if (Array.isArray(o.reserve) && o.reserve.length) spec.reserved = o.reserve.map(String);
  if (Array.isArray(o.auxAddress) && o.auxAddress.length) {
    spec.auxAddresses = {};
    for (const a of o.auxAddress.map(String)) {
      const m = /^([^=]+)=(.+)$/.exec(a);
      if (!m) throw new CliExit(EXIT.USAGE, `--aux-address "${a}": expected host=ip`);
      spec.auxAddresses[m[1]] = m[2];
    }
  }
  if (o.ipRange) spec.ipRange = String(o.ipRange);
  if (o.dockerNetwork) spec.dockerNetwork = String(o.dockerNetwork);
  if (o.bridge) spec.bridgeName = String(o.bridge);
  if (o.quarantine !== undefined) {
    const q = String(o.quarantine);
    if (!/^\d+$/.test(q)) throw new CliExit(EXIT.USAGE, `--quarantine "${q}": expected whole seconds`);
    spec.quarantineSeconds = Number(q);
  }
  if (o.range) {
    const m = /^([^-]+)-([^-]+)$/.exec(String(o.range));
    if (!m) throw new CliExit(EXIT.USAGE, `--range "${String(o.range)}": expected first-last`);
    spec.allocationRange = { first: m[1], last: m[2] };
  }
  if (o.allowSpecial === true) spec.allowSpecial = true;
  return spec;
}

/** `berth pools list|add|show|rm`. */
export function poolsCommand(ctx: CliContext): Command {
  const pools = new Command('pools').description('manage IP pools (talks to a running berth)');

  pools.addCommand(
    withApiOptions(new Command('list').description('list pools with usage')).action(async (o: Common) => {
      const { body } = await callApi<{ pools: PoolWithUsage[] }>(o, ctx.env, 'GET', '/v1/pools');
      emit(ctx, !!o.json, body, (b: { pools: PoolWithUsage[] }) => (b.pools.length ? usageRows(b.pools) : ['no pools']));
    }),
  );

  pools.addCommand(
    withApiOptions(
      new Command('add')
        .description('create a pool (IPv4 up to /12, or IPv6: the first 65,536 addresses unless --range)')
        .argument('<name>', 'pool name ([a-z0-9][a-z0-9_.-]*)')
        .argument('<cidr>', 'network, e.g. 10.20.0.0/16 or fd00:20::/64')
        .option('--gateway <ip>', 'gateway (default: first host); reserved')
        .option('--reserve <addr>', 'reserve an address, CIDR or first-last range (repeatable)', collect)
        .option('--aux-address <host=ip>', 'Docker --aux-address (repeatable); reserved', collect)
        .option('--ip-range <cidr>', 'Docker --ip-range for containers without --ip; reserved')
        .option('--docker-network <name>', 'Docker network name used by /v1/apps/prepare')
        .option('--bridge <name>', 'Linux bridge name')
        .option('--quarantine <seconds>', 'seconds before a released address is reused (default 900)')
        .option('--range <first-last>', 'allocate only from this range')
        .option('--allow-special', 'accept a loopback, link-local or 240/4 CIDR, or one wider than IPv4 /8 / IPv6 /48 (never /0, multicast or unspecified)'),
    ).action(async (name: string, cidr: string, o: Common & Record<string, unknown>) => {
      const { body } = await callApi<PoolWithUsage>(o, ctx.env, 'POST', '/v1/pools', poolSpecFromOptions(name, cidr, o));
      emit(ctx, !!o.json, body, (p: PoolWithUsage) => [`pool ${p.name} created: ${p.cidr}, ${p.usage.available} addresses available`]);
    }),
  );

  pools.addCommand(
    withApiOptions(new Command('show').description('show a pool, its usage and its docker network command').argument('<name>')).action(
      async (name: string, o: Common) => {
        const { body: pool } = await callApi<PoolWithUsage>(o, ctx.env, 'GET', `/v1/pools/${encodeURIComponent(name)}`);
        const { body: docker } = await callApi<{ command: string }>(o, ctx.env, 'GET', `/v1/pools/${encodeURIComponent(name)}/docker-network`);
        emit(ctx, !!o.json, { ...pool, dockerCommand: docker.command }, (p: PoolWithUsage & { dockerCommand: string }) => [
          ...table([
            ['name', p.name],
            ['cidr', p.cidr],
            ['gateway', p.gateway ?? '-'],
            ['allocation range', `${p.allocationRange.first} - ${p.allocationRange.last}`],
            [
              'reserved',
              [...p.reserved, ...Object.entries(p.auxAddresses).map(([h, ip]) => `${ip} (aux ${h})`), ...(p.ipRange ? [`${p.ipRange} (ip-range)`] : [])].join(
                ', ',
              ) || '-',
            ],
            ['quarantine', `${p.quarantineSeconds} s`],
            [
              'usage',
              `capacity ${p.usage.capacity}, allocated ${p.usage.allocated}, quarantined ${p.usage.quarantined}, reserved ${p.usage.reserved}, available ${p.usage.available}`,
            ],
          ]),
          '',
          p.dockerCommand,
        ]);
      },
    ),
  );

  pools.addCommand(
    withApiOptions(
      new Command('rm')
        .description('delete a pool (refused while addresses are allocated, unless --force)')
        .argument('<name>')
        .option('--force', 'delete even with allocations'),
    ).action(async (name: string, o: Common & { force?: boolean }) => {
      await callApi(o, ctx.env, 'DELETE', `/v1/pools/${encodeURIComponent(name)}${o.force ? '?force=true' : ''}`);
      emit(ctx, !!o.json, { deleted: name }, () => [`pool ${name} deleted`]);
    }),
  );
  type Reservation = { pool: string; address: string; addresses: number };
  pools.addCommand(
    withApiOptions(
      new Command('reserve')
        .description('reserve an address, CIDR or first-last range (refused while any of it is allocated)')
        .argument('<name>')
        .argument('<address>')
        .option('--reason <text>', 'why, for the audit trail'),
    ).action(async (name: string, address: string, o: Common & { reason?: string }) => {
      const { body } = await callApi<Reservation>(o, ctx.env, 'POST', `/v1/pools/${encodeURIComponent(name)}/reservations`, {
        address,
        ...(o.reason ? { reason: o.reason } : {}),
      });
      emit(ctx, !!o.json, body, (r: Reservation) => [`reserved ${r.address} in pool ${r.pool} (${r.addresses} address(es) changed)`]);
    }),
  );
  pools.addCommand(
    withApiOptions(new Command('unreserve').description('free an operator reservation').argument('<name>').argument('<address>')).action(
      async (name: string, address: string, o: Common) => {
        const { body } = await callApi<Reservation>(
          o,
          ctx.env,
          'DELETE',
          `/v1/pools/${encodeURIComponent(name)}/reservations?address=${encodeURIComponent(address)}`,
        );
        emit(ctx, !!o.json, body, (r: Reservation) => [`unreserved ${r.address} in pool ${r.pool} (${r.addresses} address(es) changed)`]);
      },
    ),
  );
  return outputTo(ctx, pools);
}
