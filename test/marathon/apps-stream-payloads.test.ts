/**
 * The streaming `/v2/apps` reader against whole answers of the simulated Marathon (1.4 and 1.10):
 * the demo apps, apps written the way the tests deploy them (health and readiness checks, fixed
 * IPs, per-port labels, labels that are not ASCII or carry JSON's structural characters) and a
 * seeded batch, read in one piece, in chunks of fixed sizes and at random cuts. Each read must
 * equal JSON.parse of the whole body followed by the same checks and projection.
 */
import { readApps } from '../../src/marathon/body';
import { type LabelFilter, projectApp } from '../../src/marathon/project';
import { checkApp, checkAppsEnvelope, parseJson } from '../../src/marathon/shape';
import type { App } from '../../src/marathon/types';
import { demoApps, startSimulator, type Simulator } from '../../src/sim';
import { HTTP_HEALTH, bridgeApp } from '../sim/helpers';

const URL_ = 'http://marathon.test/v2/apps';
const EMBED = 'embed=apps.tasks&embed=apps.deployments&embed=apps.readiness';
const keepBerth: LabelFilter = (k) => k.startsWith('berth.');

function reference(text: string, keepLabel?: LabelFilter): App[] {
  return checkAppsEnvelope(parseJson(text, URL_), URL_).map((a, i) => projectApp(checkApp(a, `apps[${i}]`, URL_), keepLabel));
}

async function* pieces(buf: Buffer, cuts: number[]): AsyncGenerator<Buffer> {
  let at = 0;
  for (const c of [...cuts, buf.length]) {
    yield buf.subarray(at, c);
    at = c;
  }
}

const every = (len: number, size: number): number[] => Array.from({ length: Math.ceil(len / size) - 1 }, (_, i) => (i + 1) * size);

/** Deterministic cuts at random positions (a fixed-seed LCG), so a failure names its cuts. */
function randomCuts(len: number, count: number, seed: number): number[] {
  let x = seed;
  const cuts = new Set<number>();
  for (let i = 0; i < count; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    cuts.add(1 + (x % (len - 1)));
  }
  return [...cuts].sort((a, b) => a - b);
}

const read = (buf: Buffer, cuts: number[], keepLabel?: LabelFilter): Promise<App[]> => readApps(pieces(buf, cuts), { url: URL_, limit: 1 << 30, keepLabel });

/** Labels that stress the cutter: multi-byte UTF-8, escapes, brackets and quotes inside strings. */
const TRICKY = { 'berth.env': 'prod', note: 'ünïcödé 日本語 🚀 "quoted" [a] {b} \\ back\\slash', 'x\u00e9"]}': '\u0000\t\n' };

/** Apps as a Marathon 1.4 cluster holds them (docker networking inside `docker`). */
function apps14(): Array<Record<string, unknown>> {
  const docker = (network: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    type: 'DOCKER',
    docker: { image: 'nginx:alpine', network, portMappings: [{ containerPort: 80, hostPort: 0, name: 'http' }], ...extra },
  });
  return [
    { id: '/old/web', instances: 3, container: docker('BRIDGE'), labels: { 'berth.domain': 'web.old.berth.internal', ...TRICKY }, ...HTTP_HEALTH },
    {
      id: '/old/db',
      instances: 1,
      container: docker('BRIDGE', { parameters: [{ key: 'ip', value: '10.1.0.5' }] }),
      labels: { 'berth.domain': 'db.old.berth.internal', 'berth.ip': '10.1.0.5', 'berth.proxy': 'tcp', 'berth.listen': '15432' },
    },
    { id: '/old/host', instances: 2, cmd: 'serve $PORT0', portDefinitions: [{ port: 0, name: 'http' }], labels: { 'berth.domain': 'host.old.berth.internal' } },
    { id: '/old/plain', instances: 1, cmd: 'sleep 1d', labels: {} },
  ];
}

/** Apps as a Marathon 1.10 cluster holds them: the demo's and the shapes the tests deploy. */
function apps110(): Array<Record<string, unknown>> {
  return [
    ...demoApps(),
    bridgeApp('/new/web', { instances: 3, ...HTTP_HEALTH, labels: { 'berth.domain': 'web.new.berth.internal', ...TRICKY } }),
    bridgeApp('/new/ready', {
      instances: 2,
      readinessChecks: [{ name: 'ready', protocol: 'HTTP', path: '/ready', portName: 'http' }],
      labels: { 'berth.domain': 'ready.new.berth.internal' },
    }),
    bridgeApp('/new/ports', {
      container: {
        type: 'DOCKER',
        docker: { image: 'x' },
        portMappings: [
          { containerPort: 80, hostPort: 0, name: 'http' },
          { containerPort: 9000, hostPort: 0, name: 'admin' },
        ],
      },
      labels: { 'berth.domain': 'ports.new.berth.internal', 'berth.port': 'http', 'berth.port.admin.domain': 'admin.new.berth.internal' },
    }),
    bridgeApp('/new/unlabelled', { labels: {} }),
  ];
}

describe.each([
  ['1.4', apps14],
  ['1.10', apps110],
] as const)("streaming /v2/apps reader on the simulator's Marathon %s answers", (flavour, apps) => {
  let sim: Simulator;
  let body: Buffer;

  beforeAll(async () => {
    sim = await startSimulator({ flavour });
    for (const app of apps()) await sim.control.deploy(app);
    sim.control.seed({ apps: 150, tasksPerApp: 3 });
    body = Buffer.from(await (await fetch(`${sim.url}/v2/apps?${EMBED}`)).arrayBuffer());
  });
  afterAll(() => sim.close());

  it('the answer is the one the reader is meant for (every app, with tasks)', () => {
    const want = reference(body.toString('utf8'));
    expect(want.length).toBe(apps().length + 150);
    expect(want.flatMap((a) => a.tasks ?? []).length).toBeGreaterThanOrEqual(450);
  });

  it.each([
    ['in one piece', (): number[] => []],
    ['in 7-byte chunks', (): number[] => every(body.length, 7)],
    ['in 4 KiB chunks', (): number[] => every(body.length, 4096)],
    ['at 500 random cuts', (): number[] => randomCuts(body.length, 500, 18)],
    ['at 50 other random cuts', (): number[] => randomCuts(body.length, 50, 1018)],
  ])('%s: equal to JSON.parse of the whole body', async (_how, cuts) => {
    const text = body.toString('utf8');
    expect(await read(body, cuts())).toEqual(reference(text));
    expect(await read(body, cuts(), keepBerth)).toEqual(reference(text, keepBerth));
  });
});
