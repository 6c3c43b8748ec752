import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/load';
import { CANDIDATE_CONF_NAME } from '../../src/nginx/staging';

const DIR = path.resolve(__dirname, '../../deploy/systemd');
const UNITS = ['berth.service', 'berth-nginx-test.service'];

/** A small unit-file parser: sections → key → values (repeated keys kept in order). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const section = /^\[([A-Za-z]+)\]$/.exec(line);
    if (section) {
      current = new Map();
      sections.set(section[1], current);
      return;
    }
    const kv = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(line);
    if (!kv || !current) throw new Error(`line ${i + 1}: not "Key=value" inside a section: ${raw}`);
    current.set(kv[1], [...(current.get(kv[1]) ?? []), kv[2]]);
  });
  return sections;
}

/** EnvironmentFile syntax: KEY=value lines, # comments (values taken literally, as systemd does without quotes). */
function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.trim().startsWith('#')) continue;
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!m) throw new Error(`not KEY=value: ${line}`);
    env[m[1]] = m[2];
  }
  return env;
}

describe('systemd unit (deploy/systemd)', () => {
  const analyze = spawnSync('systemd-analyze', ['--version']).status === 0;

  (analyze ? it : it.skip)('passes systemd-analyze verify with no complaint', () => {
    // Verify copies whose executables exist on this machine (node and nginx live elsewhere in CI images).
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-units-'));
    try {
      const nginx = spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).stdout.trim() || '/bin/true';
      for (const u of UNITS) {
        const text = fs.readFileSync(path.join(DIR, u), 'utf8').replaceAll('/usr/bin/node', process.execPath).replaceAll('/usr/sbin/nginx', nginx);
        fs.writeFileSync(path.join(tmp, u), text);
      }
      const r = spawnSync('systemd-analyze', ['verify', '--man=no', ...UNITS.map((u) => path.join(tmp, u))], { encoding: 'utf8' });
      const complaints = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.includes(tmp));
      expect(complaints).toEqual([]);
      expect(r.status).toBe(0);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
  if (!analyze) console.log('systemd-analyze not available (apt-get install systemd): checking unit syntax with the parser only');

  it('is a hardened Type=simple service that restarts on failure and reads an EnvironmentFile', () => {
    const unit = parseUnit(fs.readFileSync(path.join(DIR, 'berth.service'), 'utf8'));
    const svc = unit.get('Service')!;
    const one = (k: string) => svc.get(k)?.[0];
    expect([...unit.keys()]).toEqual(['Unit', 'Service', 'Install']);
    expect(one('Type')).toBe('simple');
    expect(one('Restart')).toBe('on-failure');
    expect(one('EnvironmentFile')).toBe('/etc/berth/berth.env');
    expect(one('User')).toBe('berth');
    expect(one('ExecStart')).toMatch(/berth\.js run$/);
    for (const k of ['NoNewPrivileges', 'ProtectSystem', 'ProtectHome', 'PrivateTmp', 'RestrictNamespaces', 'SystemCallFilter', 'CapabilityBoundingSet'])
      expect(svc.has(k)).toBe(true);
    // V8 needs W+X pages: this hardening option would crash node.
    expect(svc.has('MemoryDenyWriteExecute')).toBe(false);
    expect(unit.get('Install')?.get('WantedBy')).toEqual(['multi-user.target']);
  });

  it('ships an environment file berth accepts, whose Nginx commands use the units shipped with it', () => {
    const env = parseEnvFile(fs.readFileSync(path.join(DIR, 'berth.env'), 'utf8'));
    // The folders berth.service sets in its Environment= line.
    const config = loadConfig({ ...env, BERTH_DATA_DIR: '/var/lib/berth', BERTH_NGINX_DIR: '/var/lib/berth/nginx' });
    expect(config.dns.port).toBe(53);
    expect(config.nginx.testCmd).toBe('systemctl start berth-nginx-test.service');
    expect(fs.readFileSync(path.join(DIR, '50-berth-nginx.rules'), 'utf8')).toContain('"berth-nginx-test.service"');
    const test = parseUnit(fs.readFileSync(path.join(DIR, 'berth-nginx-test.service'), 'utf8'));
    expect(test.get('Service')?.get('Type')).toEqual(['oneshot']);
    // Staged: the unit tests the candidate berth writes for the main conf berth.env names.
    expect(config.nginx.mainConf).toBe('/etc/nginx/nginx.conf');
    expect(test.get('Service')?.get('ExecStart')?.[0]).toContain(`-c ${path.join(config.nginx.dir, CANDIDATE_CONF_NAME)}`);
  });
});
