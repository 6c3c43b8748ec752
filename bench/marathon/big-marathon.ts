/**
 * A Marathon that answers `/v2/apps` with a very large body, generated while it is sent (the
 * bench driver never holds it): `apps` apps of 3 running tasks each, every app carrying `padBytes`
 * of what real clusters are full of and berth does not keep (env, a long cmd, other tools'
 * labels, fetch URIs). `/v2/events` is an idle stream with keepalives.
 */
import http from 'node:http';
import type net from 'node:net';

export interface BigAnswer {
  apps: number;
  tasksPerApp: number;
  /** Bytes of unkept content per app. */
  padBytes: number;
}

export interface BigMarathon {
  url: string;
  /** What the next `/v2/apps` answers. */
  answer: BigAnswer;
  /** Bytes written for the last `/v2/apps` (complete or cut by the client). */
  lastBytes(): number;
  close(): Promise<void>;
}

const STAMP = '2026-01-01T00:00:00.000Z';

function appJson(i: number, a: BigAnswer): string {
  const id = `/big/app-${i}`;
  const quarter = Math.max(0, Math.floor(a.padBytes / 4) - 40);
  const pad = (c: string) => c.repeat(quarter);
  const tasks = Array.from({ length: a.tasksPerApp }, (_, k) => ({
    id: `big_app-${i}.instance-${String(k).padStart(8, '0')}-0000-0000-0000-${String(i).padStart(12, '0')}._app.1`,
    appId: id,
    host: '127.0.0.1',
    slaveId: 'agent-1',
    ports: [20000 + k],
    servicePorts: [10000],
    ipAddresses: [{ ipAddress: '172.17.0.2', protocol: 'IPv4' }],
    state: 'TASK_RUNNING',
    healthCheckResults: [],
    stagedAt: STAMP,
    startedAt: STAMP,
    version: STAMP,
    localVolumes: [],
    role: '*',
  }));
  return JSON.stringify({
    id,
    instances: a.tasksPerApp,
    cmd: `exec /app/run ${pad('c')}`,
    cpus: 0.5,
    mem: 256,
    env: { JAVA_OPTS: pad('e'), SETTINGS: pad('s') },
    labels: { 'berth.domain': `app-${i}.big.berth.internal`, HAPROXY_0_FRONTEND_HEAD: pad('h') },
    container: {
      type: 'DOCKER',
      docker: { image: 'example/app:1' },
      portMappings: [{ containerPort: 80, hostPort: 0, servicePort: 10000, protocol: 'tcp', name: 'http', labels: {} }],
    },
    networks: [{ mode: 'container/bridge' }],
    portDefinitions: [],
    healthChecks: [],
    version: STAMP,
    versionInfo: { lastScalingAt: STAMP, lastConfigChangeAt: STAMP },
    tasksRunning: a.tasksPerApp,
    deployments: [],
    tasks,
  });
}

export async function startBigMarathon(answer: BigAnswer): Promise<BigMarathon> {
  let last = 0;
  const streams = new Set<http.ServerResponse>();
  const state = { answer };
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path === '/v2/events') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.write('\r\n');
      streams.add(res);
      res.on('close', () => streams.delete(res));
      return;
    }
    if (path !== '/v2/apps') {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end('{"message":"not here"}');
      return;
    }
    const a = state.answer;
    res.writeHead(200, { 'Content-Type': 'application/json; qs=2' });
    let i = 0;
    last = 0;
    const send = (s: string) => {
      last += s.length;
      return res.write(s);
    };
    const pump = () => {
      while (!res.destroyed) {
        if (i === a.apps) {
          last += 2;
          res.end(']}');
          return;
        }
        const ok = send(`${i === 0 ? '{"apps":[' : ','}${appJson(i, a)}`);
        i++;
        if (!ok) return void res.once('drain', pump);
      }
    };
    if (a.apps === 0) res.end('{"apps":[]}');
    else pump();
  });
  const keepalive = setInterval(() => streams.forEach((s) => s.write('\r\n')), 10_000);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get answer() {
      return state.answer;
    },
    set answer(a: BigAnswer) {
      state.answer = a;
    },
    lastBytes: () => last,
    close: async () => {
      clearInterval(keepalive);
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
