/**
 * The DNS benchmark data set (method: docs/dns.md "Why not a DNS library on the query path"): 1,000 services
 * `svcN.example.test` with 3 tasks each, served by berth from Service objects and by NSD/dnsmasq
 * from the equivalent zone/hosts files (same names, same answers), plus the dnsperf query file:
 * 80 % A hits, 10 % SRV hits, 10 % NXDOMAIN, from a fixed-seed PRNG.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Service } from '../../src/model/types';
import { taskLabels } from '../../src/dns/records';

export const ZONE = 'example.test';
export const TTL = 30;
const N = 1000;

const ipsFor = (i: number) => [1, 2, 3].map((h) => `10.${(i >> 8) & 255}.${i & 255}.${h}`);
const taskId = (i: number, k: number) => `svc${i}.${(k * 0x1000000 + i).toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`;

/** The 1,000 services as the registry would hold them. */
export function benchServices(): Service[] {
  const out: Service[] = [];
  for (let i = 0; i < N; i++) {
    const ips = ipsFor(i);
    out.push({
      env: 'default',
      appId: `/svc${i}`,
      domains: [`svc${i}.${ZONE}`],
      proxy: 'http',
      listen: null,
      dns: 'direct',
      portName: 'http',
      servicePort: 8080,
      fixedIp: null,
      version: '2026-01-01T00:00:00.000Z',
      endpoints: ips.map((address, k) => ({ taskId: taskId(i, k + 1), address, port: 8080, host: `agent${k}` })),
    });
  }
  return out;
}

/** Writes zone file, dnsmasq config and queries.txt into `dir`; returns their paths. */
export function writeBenchFiles(dir: string): { zoneFile: string; dnsmasqHosts: string; dnsmasqSrv: string; queries: string } {
  fs.mkdirSync(dir, { recursive: true });
  let zone = `$ORIGIN ${ZONE}.\n$TTL ${TTL}\n@ IN SOA ns1.${ZONE}. hostmaster.${ZONE}. 1 3600 600 86400 ${TTL}\n@ IN NS ns1.${ZONE}.\nns1 IN A 127.0.0.1\n`;
  let hosts = '';
  let srv = '';
  for (const svc of benchServices()) {
    const d = svc.domains[0];
    const labels = taskLabels(svc.endpoints.map((e) => e.taskId));
    svc.endpoints.forEach((e, k) => {
      const target = `${labels[k]}.${d}`;
      zone += `${d}. IN A ${e.address}\n${target}. IN A ${e.address}\n_http._tcp.${d}. IN SRV 0 10 ${e.port} ${target}.\n`;
      hosts += `${e.address} ${d}\n${e.address} ${target}\n`;
      srv += `srv-host=_http._tcp.${d},${target},${e.port},0,10\n`;
    });
  }
  const files = {
    zoneFile: path.join(dir, `${ZONE}.zone`),
    dnsmasqHosts: path.join(dir, 'dnsmasq.hosts'),
    dnsmasqSrv: path.join(dir, 'dnsmasq-srv.conf'),
    queries: path.join(dir, 'queries.txt'),
  };
  fs.writeFileSync(files.zoneFile, zone);
  fs.writeFileSync(files.dnsmasqHosts, hosts);
  fs.writeFileSync(files.dnsmasqSrv, srv);

  // mulberry32, seed 12345: the same stream as the reference kit.
  let seed = 12345;
  const rnd = () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const lines: string[] = [];
  for (let q = 0; q < 100_000; q++) {
    const r = rnd();
    const i = Math.floor(rnd() * N);
    if (r < 0.8) lines.push(`svc${i}.${ZONE} A`);
    else if (r < 0.9) lines.push(`_http._tcp.svc${i}.${ZONE} SRV`);
    else lines.push(`nosuch${Math.floor(rnd() * 1e6)}.${ZONE} A`);
  }
  fs.writeFileSync(files.queries, lines.join('\n') + '\n');
  return files;
}
