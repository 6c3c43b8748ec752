import type { AddressInfo } from 'node:net';
import { Command, CommanderError } from 'commander';
import type { FastifyInstance } from 'fastify';
import { ipCommand } from '../../src/cli/commands/ip';
import { poolsCommand } from '../../src/cli/commands/pools';
import { CliExit, type CliContext } from '../../src/cli/context';
import { registerIpamRoutes } from '../../src/http/routes/ipam';
import { testApp } from '../support/app';
import { openTestDb, type TestDb } from '../support/db';
import { serviceFor } from '../ipam/helpers';

// The same exit-code mapping as src/cli/program.ts runCli, for just the IPAM commands.
async function run(argv: string[], env: Record<string, string>): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = { out: (l) => out.push(l), err: (l) => err.push(l), env };
  const program = new Command('berth').configureOutput({ writeOut: (s) => out.push(s), writeErr: (s) => err.push(s) });
  program.addCommand(poolsCommand(ctx)).addCommand(ipCommand(ctx));
  const override = (c: Command) => {
    c.exitOverride();
    c.commands.forEach(override);
  };
  override(program);
  let code = 0;
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) code = e.exitCode === 0 ? 0 : 2;
    else if (e instanceof CliExit) {
      code = e.exitCode;
      err.push(e.message);
    } else throw e;
  }
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('berth pools / berth ip', () => {
  let db: TestDb;
  let app: FastifyInstance;
  let env: Record<string, string>;
  beforeAll(async () => {
    db = await openTestDb('pglite');
    const ipam = serviceFor(db);
    app = await testApp((a) => registerIpamRoutes(a, { ipam }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    env = { BERTH_API_URL: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
  }, 60000);
  afterAll(async () => {
    await app.close();
    await db.drop();
  });

  test('pools add, list, show, rm', async () => {
    const add = await run(
      ['pools', 'add', 'green', '10.70.0.0/24', '--docker-network', 'green-net', '--aux-address', 'router=10.70.0.254', '--quarantine', '60'],
      env,
    );
    expect(add).toMatchObject({ code: 0, out: 'pool green created: 10.70.0.0/24, 252 addresses available' });
    const list = await run(['pools', 'list'], env);
    expect(list.out).toMatch(/^NAME\s+CIDR/);
    expect(list.out).toMatch(/green\s+10\.70\.0\.0\/24\s+10\.70\.0\.1\s+254\s+0\s+0\s+2\s+252\s+green-net/);
    const show = await run(['pools', 'show', 'green'], env);
    expect(show.out).toContain('docker network create --driver bridge --subnet 10.70.0.0/24 --gateway 10.70.0.1 --aux-address router=10.70.0.254 green-net');
    const json = JSON.parse((await run(['pools', 'show', 'green', '--json'], env)).out);
    expect(json.usage.available).toBe(252);
    expect((await run(['pools', 'rm', 'green'], env)).code).toBe(0);
    expect(await run(['pools', 'show', 'green'], env)).toMatchObject({ code: 1, err: expect.stringContaining('POOL_NOT_FOUND') });
  });

  test('ip allocate, show, release', async () => {
    await run(['pools', 'add', 'red', '10.71.0.0/24'], env);
    const a = await run(['ip', 'allocate', 'red', '/team/app-1'], env);
    expect(a.code).toBe(0);
    expect(a.out).toMatch(/^10\.71\.0\.2\/24 {2}\/team\/app-1 {2}pool red .*\(new\)$/);
    const again = JSON.parse((await run(['ip', 'allocate', 'red', '/team/app-1', '--json'], env)).out);
    expect(again).toMatchObject({ ip: '10.71.0.2', created: false });
    const show = await run(['ip', 'show', '/team/app-1'], env);
    expect(show.out).toMatch(/red\s+10\.71\.0\.2\/24/);
    const stale = await run(['ip', 'release', 'red', '/team/app-1', '--allocation-id', String(again.allocationId + 99)], env);
    expect(stale).toMatchObject({ code: 1, err: expect.stringContaining('STALE_ALLOCATION') });
    expect((await run(['ip', 'release', 'red', '/team/app-1'], env)).code).toBe(0);
    expect((await run(['ip', 'show', '/team/app-1', '--pool', 'red'], env)).code).toBe(1);
    expect((await run(['pools', 'reserve', 'red', '10.71.0.50-10.71.0.59', '--reason', 'printers'], env)).out).toBe(
      'reserved 10.71.0.50-10.71.0.59 in pool red (10 address(es) changed)',
    );
    expect(await run(['ip', 'allocate', 'red', '/team/app-9', '--ip', '10.71.0.55'], env)).toMatchObject({
      code: 1,
      err: expect.stringContaining('ADDRESS_RESERVED'),
    });
    expect((await run(['pools', 'unreserve', 'red', '10.71.0.50-10.71.0.59'], env)).code).toBe(0);
  });

  test("pools add refuses loopback, multicast and /0 with the API's code; --allow-special lifts loopback only", async () => {
    expect(await run(['pools', 'add', 'lo', '127.0.0.0/24'], env)).toMatchObject({
      code: 2,
      err: expect.stringMatching(/^POOL_CIDR_RESERVED: cidr: 127\.0\.0\.0\/24 overlaps 127\.0\.0\.0\/8, loopback/),
    });
    expect(await run(['pools', 'add', 'mc', '224.0.0.0/24', '--allow-special'], env)).toMatchObject({
      code: 2,
      err: expect.stringContaining('POOL_CIDR_RESERVED'),
    });
    expect(await run(['pools', 'add', 'all', '::/0'], env)).toMatchObject({ code: 2, err: expect.stringContaining('POOL_CIDR_TOO_WIDE') });
    expect(await run(['pools', 'add', 'lo', '127.66.0.0/28', '--allow-special'], env)).toMatchObject({
      code: 0,
      out: 'pool lo created: 127.66.0.0/28, 13 addresses available',
    });
  });

  test('usage errors exit 2; --help exits 0', async () => {
    expect(await run(['pools', 'add', 'bad', '10.72.0.1/24'], env)).toMatchObject({ code: 2, err: expect.stringContaining('INVALID_CIDR') });
    expect((await run(['pools', 'add', 'q', '10.72.0.0/24', '--quarantine', 'soon'], env)).code).toBe(2);
    expect((await run(['ip', 'allocate', 'red', 'team/app'], env)).code).toBe(2);
    expect((await run(['ip', 'allocate', 'red'], env)).code).toBe(2);
    const help = await run(['ip', 'allocate', '--help'], env);
    expect(help.code).toBe(0);
    expect(help.out).toContain('--ip <address>');
  });

  test('an unreachable API is a failure (exit 1) with a hint', async () => {
    const r = await run(['pools', 'list'], { BERTH_API_URL: 'http://127.0.0.1:1' });
    expect(r).toMatchObject({ code: 1, err: expect.stringContaining('cannot reach berth') });
  });
});
