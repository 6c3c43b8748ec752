import { AppsCutter } from '../../src/marathon/apps-stream';
import { readApps } from '../../src/marathon/body';
import { MarathonError } from '../../src/marathon/errors';
import { type LabelFilter, projectApp } from '../../src/marathon/project';
import { checkApp, checkAppsEnvelope, parseJson } from '../../src/marathon/shape';
import type { App } from '../../src/marathon/types';
import { startSimulator } from '../../src/sim';
import { HTTP_HEALTH, bridgeApp } from '../sim/helpers';

const URL_ = 'http://marathon.test/v2/apps';
const BIG = 1 << 30;

/** The reference: the whole body in memory, JSON.parse, the shape checks, the projection. */
function reference(text: string, keepLabel?: LabelFilter): App[] {
  return checkAppsEnvelope(parseJson(text, URL_), URL_).map((a, i) => projectApp(checkApp(a, `apps[${i}]`, URL_), keepLabel));
}

async function* chunked(buf: Buffer, cuts: number[]): AsyncGenerator<Buffer> {
  let at = 0;
  for (const c of [...cuts, buf.length]) {
    yield buf.subarray(at, c);
    at = c;
  }
}

const every = (buf: Buffer, size: number): number[] => Array.from({ length: Math.ceil(buf.length / size) - 1 }, (_, i) => (i + 1) * size);

function stream(text: string | Buffer, cuts: number[] = [], limit = BIG, keepLabel?: LabelFilter): Promise<App[]> {
  const buf = Buffer.isBuffer(text) ? text : Buffer.from(text);
  return readApps(chunked(buf, cuts), { url: URL_, limit, keepLabel });
}

async function outcome(p: () => Promise<App[]> | App[]): Promise<{ apps: App[] } | { kind: string }> {
  try {
    return { apps: await p() };
  } catch (e) {
    if (!(e instanceof MarathonError)) throw e;
    return { kind: e.kind };
  }
}

/** Apps with everything berth reads, and what it does not, written as Marathon 1.4 would (nulls, no empty arrays). */
const handWritten = {
  apps: [
    {
      id: '/team/web',
      instances: 2,
      cmd: 'echo "[{]}" \\ done',
      env: { A: 'x'.repeat(300), QUOTE: 'say "hi" [ok] {fine}' },
      labels: { 'berth.domain': 'web.team.berth.internal', 'berth.env': 'prod', HAPROXY_0_VHOST: 'web.example.com', note: 'ünïcödé 日本語 🚀 \u0000 \n\t' },
      container: {
        type: 'DOCKER',
        docker: {
          image: 'x',
          network: 'BRIDGE',
          portMappings: [{ containerPort: 80, hostPort: 0, servicePort: 10000, protocol: 'tcp', name: 'http', labels: { a: 'b' } }],
          parameters: [
            { key: 'ip', value: '10.0.0.7' },
            { key: 'label', value: 'x=y' },
          ],
          privileged: false,
        },
        volumes: [],
      },
      ipAddress: null,
      portDefinitions: [],
      ports: [10000],
      healthChecks: [{ protocol: 'HTTP', path: '/health', portIndex: 0, gracePeriodSeconds: 5 }],
      version: '2026-01-01T00:00:00.000Z',
      versionInfo: { lastScalingAt: '2026-01-02T00:00:00.000Z', lastConfigChangeAt: '2026-01-01T00:00:00.000Z' },
      deployments: [{ id: 'd-1' }],
      tasksRunning: 2,
      tasks: [
        {
          id: 'team_web.0123abcd-0000-0000-0000-000000000001',
          appId: '/team/web',
          host: 'agent-1',
          slaveId: 's1',
          ports: [31000],
          servicePorts: [10000],
          state: 'TASK_RUNNING',
          ipAddresses: [{ ipAddress: '172.17.0.2', protocol: 'IPv4' }],
          healthCheckResults: [
            {
              alive: true,
              consecutiveFailures: 0,
              firstSuccess: 'x',
              lastFailure: null,
              lastFailureCause: 'a long "cause" ]}',
              instanceId: 'instance [team_web.marathon-1]',
            },
          ],
          startedAt: null,
          stagedAt: 'x',
          version: 'v',
        },
        { id: 'team_web.0123abcd-0000-0000-0000-000000000002', host: 'agent-2', state: 'TASK_STAGING', ports: null, healthCheckResults: null },
      ],
    },
    {
      id: '/ip/app',
      ipAddress: { groups: [], labels: {}, discovery: { ports: [{ number: 8080, name: 'http', protocol: 'tcp', labels: {} }] }, networkName: 'dcos' },
      labels: null,
      container: null,
    },
    {
      id: '/net/app',
      networks: [{ mode: 'container', name: 'overlay', labels: { x: 'y' } }],
      portDefinitions: [{ port: 0, protocol: 'tcp', name: 'p', labels: {} }],
      labels: {},
    },
    { id: '/\\u0065scaped', labels: { 'berth.domain': 'e\u00e9\\"' } },
  ],
};

describe('streaming /v2/apps parser: same result as JSON.parse + projection', () => {
  const texts: Array<[string, string]> = [
    ['hand-written 1.4-style answer', JSON.stringify(handWritten)],
    ['the same, pretty-printed', JSON.stringify(handWritten, null, 2)],
    ['an empty list', '{"apps":[]}'],
    [
      'keys escaped, duplicated and around the list',
      '{"x":"apps","\\u0061pps":[{"id":"/a"}],"y":[[1,{"apps":[2]}]],"apps":[{"id":"/b","labels":{"k":"]"}}],"z":{"apps":[]}}',
    ],
  ];

  it.each(texts)('%s, in one piece and cut every 7 bytes', async (_d, text) => {
    const want = reference(text);
    expect(await stream(text)).toEqual(want);
    expect(await stream(text, every(Buffer.from(text), 7))).toEqual(want);
    const keep: LabelFilter = (k) => k.startsWith('berth.');
    expect(await stream(text, [], BIG, keep)).toEqual(reference(text, keep));
  });

  it('cut at every single byte (UTF-8 characters split between chunks included)', async () => {
    const text = JSON.stringify({ apps: [handWritten.apps[0], handWritten.apps[3]] });
    const buf = Buffer.from(text);
    const want = reference(text);
    expect(await stream(buf, every(buf, 1))).toEqual(want);
    // Every two-piece split too: each position is once the boundary.
    for (let at = 1; at < buf.length; at += 1) expect(await stream(buf, [at])).toEqual(want);
  });

  it('keeps only what berth reads', async () => {
    const [web] = await stream(JSON.stringify(handWritten), [], BIG, (k) => k.startsWith('berth.'));
    expect(web.labels).toEqual({ 'berth.domain': 'web.team.berth.internal', 'berth.env': 'prod' });
    expect(web).not.toHaveProperty('env');
    expect(web).not.toHaveProperty('cmd');
    expect(web.container?.docker?.parameters).toEqual([
      { key: 'ip', value: '10.0.0.7' },
      { key: 'label', value: 'x=y' },
    ]);
    expect(web.tasks?.[0]).toEqual({
      id: 'team_web.0123abcd-0000-0000-0000-000000000001',
      host: 'agent-1',
      ports: [31000],
      state: 'TASK_RUNNING',
      ipAddresses: [{ ipAddress: '172.17.0.2', protocol: 'IPv4' }],
      healthCheckResults: [{ alive: true, instanceId: 'instance [team_web.marathon-1]' }],
    });
  });

  it.each(['1.4', '1.10'] as const)("the simulator's Marathon %s answer", async (flavour) => {
    const sim = await startSimulator({ flavour });
    try {
      await sim.control.deploy(bridgeApp('/team/web', { instances: 3, ...HTTP_HEALTH, env: { A: 'b' } }));
      await sim.control.deploy(bridgeApp('/team/api', { instances: 2, labels: { 'berth.domain': 'api.berth.internal', 'berth.ip': '10.1.0.5' } }));
      const res = await fetch(`${sim.url}/v2/apps?embed=apps.tasks&embed=apps.deployments&embed=apps.readiness`);
      const text = await res.text();
      const want = reference(text);
      expect(want).toHaveLength(2);
      expect(want.flatMap((a) => a.tasks ?? [])).toHaveLength(5);
      expect(await stream(text, every(Buffer.from(text), 13))).toEqual(want);
    } finally {
      await sim.close();
    }
  });
});

describe('streaming /v2/apps parser: bad answers fail like JSON.parse does, never as a shorter list', () => {
  const bodies = [
    '',
    ' ',
    'null',
    '[]',
    '"apps"',
    '{}',
    '{"apps":{}}',
    '{"apps":null}',
    '{"apps":[1]}',
    '{"apps":[null]}',
    '{"apps":["/a"]}',
    '{"apps":[{"id":"/x"}]',
    '{"apps":[{"id":"/x"}]} x',
    '{"apps":[{"id":"/x"}]}}',
    '{"apps":[{"id":"/x"} {"id":"/y"}]}',
    '{"apps":[{"id":"/x"},]}',
    '{"apps":[,]}',
    '{"apps":[{"id":"/x"}}]}',
    '{"apps":[{"id":"/x"]]}',
    '{"apps":[{"id":"/x"}]]}',
    '{"apps":[{"id":"/x\u0000"}]}',
    '{"apps":[{"id":"/x", garbage \u0000 ]',
    '<html><body>Login</body></html>',
    '{"apps":[{"id":"x"}]}',
    '{"apps":[{"id":"/x","tasks":{}}]}',
    '{"apps":[{"id":"/x","tasks":[{"id":1}]}]}',
    '{"apps":[],"apps":5}',
    '{"apps":[{"id":"/x"}],"apps":[]}',
    '{"apps":[]} ',
    '\ufeff{"apps":[]}',
    '{"apps":[}',
    '{"apps":]',
    '{"apps":[{"id":"/x"}],"other":[1,2,}',
    '{"apps":[{"id":"/x","labels":"\\q"}]}',
  ];

  it.each(bodies.map((b) => [JSON.stringify(b), b]))('%s', async (_d, body) => {
    const want = await outcome(() => reference(body.replace(/^\ufeff/, '')));
    expect(await outcome(() => stream(body))).toEqual(want);
    expect(await outcome(() => stream(body, every(Buffer.from(body), 1)))).toEqual(want);
  });

  it('a body cut short at any byte is a bad_response', async () => {
    const text = JSON.stringify({ apps: [handWritten.apps[0], handWritten.apps[2]] });
    const buf = Buffer.from(text);
    for (let n = 0; n < buf.length; n++) {
      const r = await outcome(() => stream(buf.subarray(0, n), n > 3 ? [n >> 1] : []));
      expect([n, r]).toEqual([n, { kind: 'bad_response' }]);
    }
  });
});

describe('streaming /v2/apps parser: limits', () => {
  it('stops at the byte limit with MARATHON_ANSWER_TOO_LARGE', async () => {
    const text = JSON.stringify({ apps: Array.from({ length: 50 }, (_, i) => ({ id: `/a${i}`, env: { X: 'y'.repeat(1000) } })) });
    const e = await stream(text, every(Buffer.from(text), 4096), 20_000).catch((x: unknown) => x as MarathonError);
    expect(e).toBeInstanceOf(MarathonError);
    expect((e as MarathonError).kind).toBe('too_large');
    expect((e as MarathonError).message).toMatch(/^MARATHON_ANSWER_TOO_LARGE: .*20000 bytes.*BERTH_MARATHON_MAX_RESPONSE_BYTES/);
    expect(await stream(text, [], Buffer.byteLength(text))).toHaveLength(50);
  });

  it('refuses one app larger than the per-app bound, naming it', () => {
    const seen: string[] = [];
    const cutter = new AppsCutter({ url: URL_, maxElementBytes: 1000, maxSkeletonBytes: 1000, onArrayStart: () => undefined, onElement: (t) => seen.push(t) });
    const text = JSON.stringify({ apps: [{ id: '/small' }, { id: '/big', env: { X: 'y'.repeat(5000) } }] });
    let err: unknown;
    try {
      for (const at of every(Buffer.from(text), 100)) cutter.push(Buffer.from(text).subarray(at - 100, at));
    } catch (e) {
      err = e;
    }
    expect(seen).toEqual(['{"id":"/small"}']);
    expect(err).toMatchObject({ kind: 'too_large', message: expect.stringMatching(/^MARATHON_ANSWER_TOO_LARGE: apps\[1\] is larger than 1000 bytes/) });
  });

  it('refuses an answer whose bytes are not in an apps list', async () => {
    const text = JSON.stringify({ notApps: 'x'.repeat(9 * 1024 * 1024) });
    expect(await outcome(() => stream(text, every(Buffer.from(text), 65536)))).toEqual({ kind: 'bad_response' });
  });
});
