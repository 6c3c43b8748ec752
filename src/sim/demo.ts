/**
 * Sample state for `berth demo`: a simulator with apps that exercise the label contract, whose
 * tasks point at real HTTP backends on loopback so a generated Nginx config proxies to something.
 */
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Simulator, type SimulatorOptions, startSimulator } from './simulator';

export interface DemoMarathon {
  sim: Simulator;
  /** `appId` → the loopback ports of its backends, one per task. */
  backends: Record<string, number[]>;
  close(): Promise<void>;
}

async function backend(name: string, index: number): Promise<Server> {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end(`hello from ${name} task ${index} (${req.method} ${req.url})\n`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

/** The demo apps; `domainZone` is the DNS zone berth serves (default `berth.internal`). */
export function demoApps(zone = 'berth.internal'): Record<string, unknown>[] {
  return [
    {
      id: '/demo/web',
      instances: 2,
      cmd: 'python3 -m http.server $PORT0',
      portDefinitions: [{ port: 0, name: 'http' }],
      healthChecks: [{ protocol: 'HTTP', path: '/', portIndex: 0 }],
      labels: { 'berth.domain': `web.demo.${zone}` },
    },
    {
      id: '/demo/api',
      instances: 1,
      networks: [{ mode: 'container/bridge' }],
      container: { type: 'DOCKER', docker: { image: 'demo/api:1' }, portMappings: [{ containerPort: 8080, hostPort: 0, name: 'http' }] },
      labels: { 'berth.domain': `api.demo.${zone}`, 'berth.port': 'http' },
    },
    {
      id: '/demo/db',
      instances: 1,
      networks: [{ mode: 'container/bridge' }],
      container: {
        type: 'DOCKER',
        docker: {
          image: 'postgres:15',
          parameters: [
            { key: 'net', value: 'demo-net' },
            { key: 'ip', value: '10.10.0.5' },
          ],
        },
        portMappings: [{ containerPort: 5432, hostPort: 0 }],
      },
      labels: { 'berth.domain': `db.demo.${zone}`, 'berth.ip': '10.10.0.5', 'berth.proxy': 'tcp', 'berth.listen': '15432' },
    },
    {
      id: '/demo/broken',
      instances: 1,
      cmd: 'sleep 3600',
      labels: { 'berth.domain': 'a.com; include /etc/passwd' },
    },
    { id: '/other/not-berth', instances: 1, cmd: 'sleep 3600', labels: {} },
  ];
}

/** Starts the simulator, the backends, and deploys the demo apps (events flow as in Marathon). */
export async function startDemoMarathon(opts: SimulatorOptions & { zone?: string } = {}): Promise<DemoMarathon> {
  const servers: Server[] = [];
  const backends: Record<string, number[]> = {};
  const sim = await startSimulator(opts);
  for (const def of demoApps(opts.zone)) {
    const id = String(def.id);
    const ports: number[] = [];
    for (let i = 0; i < Number(def.instances); i++) {
      const s = await backend(id, i);
      servers.push(s);
      ports.push((s.address() as AddressInfo).port);
    }
    backends[id] = ports;
    // Host and bridge tasks: the agent is loopback and the host port is the backend's real port.
    await sim.control.deploy(def, { placeTask: (_def, index) => ({ host: '127.0.0.1', ports: [ports[index % ports.length]] }) });
  }
  return {
    sim,
    backends,
    close: async () => {
      await sim.close();
      await Promise.all(
        servers.map(
          (s) =>
            new Promise((r) => {
              s.closeAllConnections();
              s.close(r);
            }),
        ),
      );
    },
  };
}
