/**
 * The system tools the benchmarks drive (dnsperf and the DNS baselines, real Nginx, taskset).
 * A bare machine lacks them: as root with apt-get they are installed once (Debian's maintainer
 * scripts kept from starting system services); otherwise the missing ones are named with the
 * command to install them, and the benchmarks that need them report themselves as not run.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

/** Command → Debian package. */
const TOOLS: Record<string, string> = { dnsperf: 'dnsperf', dnsmasq: 'dnsmasq', nsd: 'nsd', nginx: 'nginx-light', taskset: 'util-linux' };

const have = (bin: string) => spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;

/** Installs what is missing if it can; returns the commands still missing. */
export function ensureTools(log: (s: string) => void): string[] {
  const missing = Object.keys(TOOLS).filter((b) => !have(b));
  if (missing.length === 0) return [];
  const pkgs = [...new Set(missing.map((b) => TOOLS[b]))];
  if (process.getuid?.() !== 0 || !have('apt-get')) {
    log(`missing ${missing.join(', ')}: install with apt-get install -y ${pkgs.join(' ')}`);
    return missing;
  }
  log(`installing ${pkgs.join(' ')} (apt-get; about a minute on a bare machine)`);
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = !fs.existsSync(policy);
  // Keep dpkg from starting a system nginx/dnsmasq/nsd that would take ports 53 and 80.
  if (ownPolicy) fs.writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env, timeout: 180_000 });
    const r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], { encoding: 'utf8', env, timeout: 300_000 });
    if (r.status !== 0) log(`apt-get install failed: ${(r.stderr || r.stdout).trim().split('\n').pop()}`);
  } finally {
    if (ownPolicy) fs.rmSync(policy, { force: true });
  }
  return Object.keys(TOOLS).filter((b) => !have(b));
}
