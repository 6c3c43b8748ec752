import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { probeNginx, startDemoNginx, supportsErrorLogFlag, type DemoNginx } from '../../src/demo/nginx';
import { childrenOf, httpStatus, processAlive, tcpAnswers, tcpPortFree } from '../../src/demo/procs';
import { describeWithTools } from '../support/tools';
import { freePorts } from './helpers';

const EXAMPLE = path.resolve(__dirname, '../../nginx-templates/nginx.conf.example');

it('knows which nginx versions take -e', () => {
  expect(supportsErrorLogFlag('1.22.1')).toBe(true);
  expect(supportsErrorLogFlag('1.19.5')).toBe(true);
  expect(supportsErrorLogFlag('1.18.0')).toBe(false);
  expect(supportsErrorLogFlag(undefined)).toBe(false);
});

describeWithTools(['nginx'], 'demo nginx lifecycle', () => {
  let prefix: string;
  const started: DemoNginx[] = [];
  beforeEach(() => {
    prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-demo-nginx-'));
  });
  afterEach(async () => {
    for (const n of started.splice(0)) await n.stop();
    fs.rmSync(prefix, { recursive: true, force: true });
  });

  async function start(port: number): Promise<DemoNginx> {
    const probe = probeNginx();
    const n = await startDemoNginx(
      {
        prefix: path.join(prefix, 'nginx-demo'),
        generatedDir: path.join(prefix, 'nginx'),
        exampleConf: EXAMPLE,
        listenHost: '127.0.0.1',
        listenPort: port,
        stream: probe.stream,
        version: probe.version,
      },
      () => tcpAnswers('127.0.0.1', port),
    );
    started.push(n);
    return n;
  }

  it('serves on its loopback port without touching system paths, and stop() leaves no master or worker', async () => {
    const [port] = await freePorts(1);
    const n = await start(port);
    expect(await httpStatus('127.0.0.1', port, 'unknown.invalid')).toBe(404);
    expect(fs.existsSync(path.join(prefix, 'nginx-demo/nginx.pid'))).toBe(true);
    // The test command checks the conf berth names in BERTH_NGINX_CANDIDATE_CONF (here the demo conf itself).
    expect(spawnSync('sh', ['-c', n.testCmd], { env: { ...process.env, BERTH_NGINX_CANDIDATE_CONF: n.conf } }).status).toBe(0);
    expect(spawnSync('sh', ['-c', n.reloadCmd]).status).toBe(0);
    const master = n.pid() as number;
    const workers = childrenOf(master);
    expect(workers.length).toBeGreaterThan(0);
    await n.stop();
    expect(processAlive(master)).toBe(false);
    for (const w of workers) expect(processAlive(w)).toBe(false);
    expect(await tcpPortFree('127.0.0.1', port)).toBe(true);
  });

  it('stops an nginx left behind by a demo that was killed, before starting its own', async () => {
    const [first, second] = await freePorts(2);
    const stale = await start(first);
    const staleMaster = stale.pid() as number;
    // The new start finds the old pid file in the same prefix (as after `kill -9` of the demo).
    const fresh = await start(second);
    expect(processAlive(staleMaster)).toBe(false);
    expect(await tcpPortFree('127.0.0.1', first)).toBe(true);
    expect(fresh.pid()).not.toBe(staleMaster);
  });
});
