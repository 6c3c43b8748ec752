/**
 * NSD (NLnet Labs) as a real secondary of berth on loopback: its own config, zone files and state in
 * a temp folder, transfers from berth, NOTIFY accepted from loopback. Started in the foreground
 * (`-d`) and stopped by its pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface Nsd {
  port: number;
  dir: string;
  log(): string;
  stop(): Promise<void>;
}

/** A port free for both UDP and TCP on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  for (;;) {
    const srv = net.createServer();
    const port = await new Promise<number>((r) => srv.listen(0, '127.0.0.1', () => r((srv.address() as net.AddressInfo).port)));
    const u = dgram.createSocket('udp4');
    const ok = await new Promise<boolean>((r) => {
      u.once('error', () => r(false));
      u.bind(port, '127.0.0.1', () => r(true));
    });
    await new Promise<void>((r) => srv.close(() => r()));
    if (ok) {
      await new Promise<void>((r) => u.close(() => r()));
      return port;
    }
    u.close();
  }
}

/** NSD binary (Debian installs it in /usr/sbin). */
export const NSD_BIN = fs.existsSync('/usr/sbin/nsd') ? '/usr/sbin/nsd' : 'nsd';

/** Starts NSD as a secondary of `zones` from berth at 127.0.0.1:`primaryPort`. */
export async function startNsd(primaryPort: number, zones: string[]): Promise<Nsd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-nsd-'));
  const port = await freePort();
  const conf = [
    'server:',
    `  ip-address: 127.0.0.1@${port}`,
    `  port: ${port}`,
    '  do-ip6: no',
    '  username: ""',
    '  chroot: ""',
    `  zonesdir: "${dir}"`,
    '  database: ""',
    `  pidfile: "${dir}/nsd.pid"`,
    `  xfrdfile: "${dir}/xfrd.state"`,
    `  xfrdir: "${dir}"`,
    `  zonelistfile: "${dir}/zone.list"`,
    `  logfile: "${dir}/nsd.log"`,
    '  verbosity: 2',
    '  server-count: 1',
    '  tcp-count: 16',
    'remote-control:',
    '  control-enable: no',
    ...zones.flatMap((z) => [
      'zone:',
      `  name: "${z}"`,
      `  zonefile: "${z}.zone"`,
      `  request-xfr: 127.0.0.1@${primaryPort} NOKEY`,
      '  allow-notify: 127.0.0.1 NOKEY',
    ]),
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'nsd.conf'), `${conf}\n`);
  const child: ChildProcess = spawn(NSD_BIN, ['-d', '-c', path.join(dir, 'nsd.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    port,
    dir,
    log: () => {
      let file = '';
      try {
        file = fs.readFileSync(path.join(dir, 'nsd.log'), 'utf8');
      } catch {
        /* not written yet */
      }
      return `${out}${file}`;
    },
    stop: async () => {
      if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
