import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../src/config/load';
import { MarathonClient } from '../../src/marathon/client';
import { parseApp } from '../../src/model/spec';
import { startSimulator, validateMarathonApp, type Simulator } from '../../src/sim';
import { toolsFor } from '../support/tools';
import { waitFor } from '../support/wait';

const DEF = path.resolve(__dirname, '../../deploy/marathon/berth.json');
const read = () => JSON.parse(fs.readFileSync(DEF, 'utf8')) as Record<string, unknown> & { env: Record<string, string>; labels: Record<string, string> };

describe('Marathon app definition (deploy/marathon/berth.json)', () => {
  let sim: Simulator | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  it("passes the simulator's app validation (Marathon 1.10 rules)", () => {
    expect(validateMarathonApp(read(), '1.10')).toEqual([]);
  });

  it('is accepted by POST /v2/apps (the command docs/deploy.md gives), and its tasks run', async () => {
    sim = await startSimulator({ flavour: '1.10' });
    const docs = fs.readFileSync(path.resolve(__dirname, '../../docs/deploy.md'), 'utf8');
    const command = /^curl -X POST .*@deploy\/marathon\/berth\.json$/m.exec(docs)?.[0];
    expect(command).toBeDefined();
    if (toolsFor(['curl'], "deploy: docs/deploy.md's curl line as printed (the same POST sent from Node instead)")) {
      // Asynchronously: the simulator answers from this very process.
      const line = `${(command as string).replace('http://marathon.mesos:8080', sim.url)} -s -o /dev/null -w '%{http_code}'`;
      const code = await new Promise<string>((resolve) =>
        execFile('sh', ['-c', line], { cwd: path.resolve(__dirname, '../..'), timeout: 10_000 }, (_e, stdout) => resolve(stdout)),
      );
      expect(code).toBe('201');
    } else {
      const res = await fetch(`${sim.url}/v2/apps`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(read()) });
      expect(res.status).toBe(201);
    }
    const client = new MarathonClient({ urls: [sim.url] });
    const app = await waitFor(async () => {
      const found = (await client.getApps()).find((a) => a.id === '/platform/berth');
      return found?.tasks?.filter((t) => t.state === 'TASK_RUNNING').length === 2 && found;
    }, 10_000);
    // berth publishes itself: its own labels satisfy the label contract.
    const parsed = parseApp(app, { defaultEnv: 'integration' });
    expect(parsed).toMatchObject({ kind: 'spec', spec: { env: 'integration', domains: ['berth.platform.berth.internal'] } });
  });

  it('health-checks /healthz on the API port and gates readiness on /readyz', () => {
    const def = read() as unknown as {
      env: Record<string, string>;
      healthChecks: Array<{ path?: string; portIndex: number }>;
      readinessChecks: Array<{ path: string; portName: string }>;
      portDefinitions: Array<{ port: number; name: string }>;
    };
    const http = def.portDefinitions.findIndex((p) => p.name === 'http');
    expect(def.healthChecks).toEqual(expect.arrayContaining([expect.objectContaining({ path: '/healthz', portIndex: http })]));
    expect(def.readinessChecks[0]).toMatchObject({ path: '/readyz', portName: 'http' });
    // The ports berth listens on are the ports Marathon reserves (host networking, requirePorts).
    expect(def.env.BERTH_HTTP_ADDR).toBe(`0.0.0.0:${def.portDefinitions[http].port}`);
    expect(def.env.BERTH_DNS_ADDR).toBe(`0.0.0.0:${def.portDefinitions.find((p) => p.name === 'dns')?.port}`);
  });

  it('sets an environment berth accepts (the config file it names holds the secrets)', () => {
    const { BERTH_CONFIG, ...env } = read().env;
    expect(BERTH_CONFIG).toBe('/etc/berth/berth.json');
    const example = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../deploy/config/berth.json.example'), 'utf8')) as Record<string, string>;
    const config = loadConfig({ ...env, BERTH_CONFIG: 'berth.json' }, () => JSON.stringify(example));
    expect(config.marathon.urls).toHaveLength(3);
    expect(config.databaseUrl).toMatch(/^postgres:/);
    expect(Object.keys(config.environments).sort()).toEqual(['func-a', 'integration']);
  });

  it('sizes V8 for its memory grant, with the same NODE_OPTIONS in the image and the systemd unit', () => {
    const def = read() as ReturnType<typeof read> & { mem: number };
    const m = /^--max-old-space-size=(\d+) --max-semi-space-size=(\d+)$/.exec(def.env.NODE_OPTIONS ?? '');
    expect(m).not.toBeNull();
    // Old space plus the young generation (three semi-spaces) is most of RSS but not all of it
    // (code, buffers): it must leave room.
    expect(Number(m![1]) + 3 * Number(m![2])).toBeLessThanOrEqual(def.mem * 0.8);
    const deploy = path.dirname(path.dirname(DEF));
    expect(fs.readFileSync(path.join(deploy, 'Dockerfile'), 'utf8')).toContain(`NODE_OPTIONS="${def.env.NODE_OPTIONS}" `);
    expect(fs.readFileSync(path.join(deploy, 'systemd/berth.service'), 'utf8')).toContain(`\nEnvironment="NODE_OPTIONS=${def.env.NODE_OPTIONS}"\n`);
  });
});
