/** Starting, probing, measuring and stopping the DNS servers under test (berth, NSD, dnsmasq), each pinned to one core. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import { DEPLOY_NODE_OPTIONS } from '../lib/deploy';
import { ZONE } from './data';

export interface Running {
  name: string;
  proc: ChildProcess;
  port: number;
}

export interface ServerSpec {
  name: string;
  port: number;
  command: string[];
  env?: NodeJS.ProcessEnv;
}

/** `nice -n -10` when running as root, else nothing. */
export function priority(): string[] {
  return process.getuid?.() === 0 ? ['nice', '-n', '-10'] : [];
}

/** True when `bin` is on PATH. */
export function have(bin: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;
}

/** The row of bench/dns/node-floor.ts: what a Node UDP server costs before it does anything. */
export const FLOOR = 'node-floor';

/** Command lines for each server, writing their configs into `dir`. */
export function serverSpecs(dir: string, repo: string, berthBundle: string, floorBundle: string, core: number): ServerSpec[] {
  // Raised priority (root only; ignored otherwise) so other work on the machine disturbs every server alike, and less.
  const pin = [...priority(), 'taskset', '-c', String(core)];
  const run = path.join(dir, 'run');
  fs.mkdirSync(run, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'nsd.conf'),
    [
      'server:',
      '  ip-address: 127.0.0.1@5456',
      '  do-ip6: no',
      '  server-count: 1',
      '  username: ""',
      '  chroot: ""',
      '  database: ""',
      `  zonesdir: "${dir}"`,
      `  pidfile: "${run}/nsd.pid"`,
      `  logfile: "${run}/nsd.log"`,
      `  xfrdfile: "${run}/xfrd.state"`,
      `  zonelistfile: "${run}/zone.list"`,
      '  hide-version: yes',
      '  minimal-responses: yes',
      '  verbosity: 1',
      // Debian's NSD rate-limits to 200 QPS per source by default; a benchmark from one source needs it off.
      '  rrl-ratelimit: 0',
      '  rrl-whitelist-ratelimit: 0',
      'remote-control:',
      '  control-enable: no',
      'zone:',
      `  name: ${ZONE}`,
      `  zonefile: "${dir}/${ZONE}.zone"`,
      '',
    ].join('\n'),
  );
  fs.writeFileSync(
    path.join(dir, 'dnsmasq.conf'),
    [
      'port=5455',
      'listen-address=127.0.0.1',
      'bind-interfaces',
      'no-resolv',
      'no-hosts',
      'no-poll',
      'no-negcache',
      `local=/${ZONE}/`,
      `addn-hosts=${dir}/dnsmasq.hosts`,
      `conf-file=${dir}/dnsmasq-srv.conf`,
      'local-ttl=30',
      'user=root',
      `pid-file=${run}/dnsmasq.pid`,
      `log-facility=${run}/dnsmasq.log`,
      // Without a cache larger than the hosts file dnsmasq's A lookups were 2.5x slower (docs/dns.md).
      'cache-size=10000',
      '',
    ].join('\n'),
  );
  return [
    {
      name: 'berth',
      port: 5454,
      command: [...pin, process.execPath, berthBundle, '5454'],
      // As deployed: deploy/marathon/berth.json's NODE_OPTIONS size V8's old space and young generation for the container.
      env: { ...process.env, NODE_PATH: path.join(repo, 'node_modules'), NODE_OPTIONS: DEPLOY_NODE_OPTIONS },
    },
    // V8's defaults with limitYoungGeneration() (src/dns/heap.ts) instead: V8 otherwise keeps a 32 MB young generation.
    {
      name: 'berth-heap',
      port: 5457,
      command: [...pin, process.execPath, berthBundle, '5457', '--limit-young-generation'],
      env: { ...process.env, NODE_PATH: path.join(repo, 'node_modules') },
    },
    { name: 'nsd', port: 5456, command: [...pin, 'nsd', '-d', '-c', path.join(dir, 'nsd.conf')] },
    { name: FLOOR, port: 5458, command: [...pin, process.execPath, floorBundle, '5458'] },
    { name: 'dnsmasq', port: 5455, command: [...pin, 'dnsmasq', '-k', '-C', path.join(dir, 'dnsmasq.conf')] },
  ];
}

/** Starts a server and waits (bounded) until it answers `svc1` with three addresses. */
export async function start(spec: ServerSpec, logFile: string): Promise<Running> {
  const log = fs.openSync(logFile, 'w');
  const proc = spawn(spec.command[0], spec.command.slice(1), { stdio: ['ignore', log, log], env: spec.env ?? process.env });
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) break;
    const reply = await udpQuery(spec.port, query(`svc1.${ZONE}`, 1), 300);
    if (reply && reply.readUInt16BE(6) === 3) return { name: spec.name, proc, port: spec.port };
  }
  proc.kill('SIGKILL');
  throw new Error(`${spec.name} did not start: ${fs.readFileSync(logFile, 'utf8').slice(-500)}`);
}

/** SIGTERM, then SIGKILL for the whole tree after 3 s. */
export async function stop(r: Running): Promise<void> {
  const all = tree(r.proc.pid!);
  r.proc.kill('SIGTERM');
  const deadline = Date.now() + 3000;
  while (r.proc.exitCode === null && r.proc.signalCode === null && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
  for (const pid of all) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/** The pid and every descendant (NSD forks; taskset execs). */
export function tree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      for (const t of fs.readdirSync(`/proc/${out[i]}/task`)) {
        const kids = fs.readFileSync(`/proc/${out[i]}/task/${t}/children`, 'utf8').trim();
        if (kids) out.push(...kids.split(/\s+/).map(Number));
      }
    } catch {
      /* exited */
    }
  }
  return out;
}

/** Resident memory of the tree, MB. */
export function rssMb(pid: number): number {
  let kb = 0;
  for (const p of tree(pid)) {
    try {
      kb += Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      /* exited */
    }
  }
  return kb / 1024;
}

/** CPU seconds (user+system) used by the tree so far. */
export function cpuSeconds(pid: number): number {
  const hz = 100; // USER_HZ is 100 on Linux
  let ticks = 0;
  for (const p of tree(pid)) {
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      /* exited */
    }
  }
  return ticks / hz;
}

/** A plain query message (RD clear). */
export function query(name: string, type: number, id = 0x4242): Buffer {
  const labels = name.split('.');
  const b = Buffer.alloc(12 + name.length + 2 + 4);
  b.writeUInt16BE(id, 0);
  b.writeUInt16BE(1, 4);
  let p = 12;
  for (const l of labels) {
    b[p++] = l.length;
    p += b.write(l, p, 'latin1');
  }
  b[p++] = 0;
  b.writeUInt16BE(type, p);
  b.writeUInt16BE(1, p + 2);
  return b;
}

/** One UDP exchange on loopback; null on timeout. */
export function udpQuery(port: number, msg: Buffer, timeoutMs: number): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const t = setTimeout(() => {
      s.close();
      resolve(null);
    }, timeoutMs);
    s.on('message', (m) => {
      clearTimeout(t);
      s.close();
      resolve(m);
    });
    s.on('error', () => {
      clearTimeout(t);
      s.close();
      resolve(null);
    });
    s.send(msg, port, '127.0.0.1');
  });
}
