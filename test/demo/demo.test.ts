/**
 * `berth demo` as a new user meets it: a child process in a fresh folder, the panel's own commands
 * run as printed (dig, curl through the demo Nginx, the API), then Ctrl-C (SIGINT) and a check that
 * nothing it started is left: no process, no port.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { childrenOf, processAlive, tcpPortFree, udpPortFree } from '../../src/demo/procs';
import { berthArgv } from '../support/spawn';
import { waitFor } from '../support/wait';
import { unknownMetrics } from '../deploy/dashboard';
import { toolsFor } from '../support/tools';
import { freePorts, getWithHost, httpsGet, plainGet } from './helpers';

jest.setTimeout(240_000);

/** The real CLI, from source. */
function demoArgv(args: string[]): string[] {
  return berthArgv('demo', ...args);
}

function sh(line: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('sh', ['-c', line], { timeout: 15_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` });
    });
  });
}

/** Pids whose command line mentions `needle` (the demo Nginx master carries its prefix). */
function processesMentioning(needle: string): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      if (fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(needle) && processAlive(Number(e))) out.push(Number(e));
    } catch {
      // ended while we looked
    }
  }
  return out;
}

describe('berth demo (child process)', () => {
  // Without one of these the demo test checks less rather than nothing (render-only mode, the
  // requests from Node); each part not run is named in the notice at the end, and CI fails instead.
  let nginx = false;
  let dig = false;
  let curl = false;
  let openssl = false;
  let cwd: string;
  let child: ChildProcess | undefined;

  beforeAll(() => {
    cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-demo-'));
    nginx = toolsFor(['nginx'], 'berth demo: routing through a real Nginx (render-only mode checked instead)');
    dig = toolsFor(['dig'], "berth demo: the panel's dig lines");
    openssl = toolsFor(['openssl'], 'berth demo: HTTPS with the certificate it makes (plain HTTP checked instead)');
    curl = toolsFor(['curl'], "berth demo: the panel's curl lines as printed (the same requests sent from Node instead)");
  });

  afterAll(() => {
    if (child?.exitCode === null) child.kill('SIGKILL');
    // Anything of the demo's process group still around (only if a test failed half-way).
    if (child?.pid) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // the group is gone, as it should be
      }
    }
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  /** Starts the demo in `cwd`; resolves with the panel once printed. */
  async function startDemo(
    args: string[],
    ownGroup = false,
  ): Promise<{ proc: ChildProcess; out: () => string; err: () => string; exited: Promise<number | null>; commands: string[] }> {
    const proc = spawn(process.execPath, demoArgv(args), {
      cwd,
      env: { PATH: process.env.PATH, HOME: cwd, BERTH_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, like a shell job: Ctrl-C then reaches the demo and the Nginx it started.
      detached: ownGroup,
    });
    child = proc;
    let out = '';
    let err = '';
    proc.stdout?.on('data', (d) => (out += d));
    proc.stderr?.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    await waitFor(
      () => out.includes('Ctrl-C stops everything') || proc.exitCode !== null,
      180_000,
      () => `stdout:\n${out}\nstderr:\n${err}`,
    );
    if (proc.exitCode !== null) throw new Error(`the demo exited with ${proc.exitCode}:\n${out}\n${err}`);
    const commands = out
      .split('\n')
      .filter((l) => /^ {2}(dig|curl|printf) /.test(l))
      .map((l) => l.trim());
    return { proc, out: () => out, err: () => err, exited, commands };
  }

  /** Runs the panel's command matching `pattern` as printed, through sh. */
  async function runPanel(commands: string[], pattern: RegExp): Promise<string> {
    const line = commands.find((c) => pattern.test(c));
    if (!line) throw new Error(`the panel has no command matching ${pattern}:\n${commands.join('\n')}`);
    return (await sh(line)).out.trim();
  }

  let firstCaches: string[] = [];

  /** The HTTPS app through the real Nginx: the certificate the demo made for its SNI, HSTS, and the 308 of plain HTTP. */
  async function checkHttps(commands: string[], httpsPort: number, nginxPort: number): Promise<void> {
    const domain = 'static.integration.berth.internal';
    const made = fs.readFileSync(path.join(cwd, 'var/tls', `${domain}.crt`));
    const r = await httpsGet(httpsPort, domain, '/docs/start?q=1', made);
    expect(r.status).toBe(200);
    expect(r.body).toMatch(/^hello from \/integration\/static task 0 \(static\.integration\.berth\.internal GET \/docs\/start\?q=1\)/);
    expect(r.headers['strict-transport-security']).toBe('max-age=300');
    expect(r.peer?.fingerprint256).toBe(new X509Certificate(made).fingerprint256);
    const plain = await plainGet(nginxPort, domain, '/docs/start?q=1');
    expect(plain.status).toBe(308);
    expect(plain.headers.location).toBe(`https://${domain}:${httpsPort}/docs/start?q=1`);
    if (!curl) return;
    const fetched = await runPanel(commands, /--cacert/);
    expect(fetched).toMatch(/^strict-transport-security: max-age=300\r?$/im);
    expect(fetched).toContain('hello from /integration/static task 0');
    expect(await runPanel(commands, /redirect_url/)).toBe(`308 https://${domain}:${httpsPort}/docs/start`);
  }

  it('reaches the panel, its commands answer as it says, and Ctrl-C leaves nothing running', async () => {
    const [httpPort, dnsPort, nginxPort, tcpPort, httpsPort] = await freePorts(5);
    const t0 = Date.now();
    const {
      proc,
      out: stdout,
      err: stderr,
      exited,
      commands,
    } = await startDemo(
      [
        '--http-addr',
        `127.0.0.1:${httpPort}`,
        '--dns-addr',
        `127.0.0.1:${dnsPort}`,
        '--nginx-port',
        String(nginxPort),
        '--tcp-port',
        String(tcpPort),
        '--https-port',
        String(httpsPort),
      ],
      true,
    );
    const out = stdout();
    console.log(`demo panel after ${((Date.now() - t0) / 1000).toFixed(1)} s (startup includes a fresh embedded database)`);
    expect(out).not.toContain('WARNING');
    const run = (pattern: RegExp) => runPanel(commands, pattern);

    if (dig) {
      expect((await run(/\+short web\.integration/)).split('\n')).toContain('127.0.0.1');
      expect(await run(/SRV _http\._tcp\.web\.integration/)).toMatch(/^\d+ \d+ \d+ \S+\.berth\.internal\.$/m);
      const integrationCache = await run(/\+short cache\./);
      const funcACache = await run(/-b 127\.0\.0\.2 cache\./);
      expect(integrationCache).toMatch(/^127\.77\.0\.\d+$/);
      expect(funcACache).toMatch(/^127\.77\.0\.\d+$/);
      expect(funcACache).not.toBe(integrationCache);
      firstCaches = [integrationCache, funcACache];
      expect((await run(/-b 127\.0\.0\.2 api\.integration/)).split('\n')).toContain('127.0.0.1');
    }

    if (nginx) {
      // Through curl as printed; without curl, the same request (URL and Host header) from Node.
      const viaNginx = (pattern: RegExp) => (curl ? run(pattern) : getWithHost(commands.find((c) => pattern.test(c)) ?? ''));
      expect(await viaNginx(/Host: web\.integration/)).toMatch(/^hello from \/integration\/web task \d/);
      expect(await viaNginx(/Host: billing\.func-a/)).toMatch(/^hello from \/func-a\/billing task 0/);
      if (curl && commands.some((c) => c.includes('telnet:'))) expect(await run(/telnet:/)).toMatch(/^\+PONG\r?\n\+OK/);
      if (openssl) await checkHttps(commands, httpsPort, nginxPort);
      else expect(out).toContain('HTTPS     OFF: openssl is not installed');
    } else {
      expect(out).toContain('RENDER ONLY');
      expect(commands.some((c) => c.includes('Host:'))).toBe(false);
    }
    // Rendered either way.
    expect(fs.existsSync(path.join(cwd, 'var/nginx/integration/http'))).toBe(true);

    // The API lines through curl as printed; without curl, the same URL through fetch.
    const apiRun = async (pattern: RegExp) => {
      if (curl) return JSON.parse(await run(pattern));
      const url = /(http:\/\/[^\s']+)/.exec(commands.find((c) => pattern.test(c)) ?? '')?.[1] ?? '';
      return (await fetch(url)).json();
    };
    const pool = await apiRun(/\/v1\/pools\/demo/);
    expect(pool.usage.allocated).toBe(4);
    const services = await apiRun(/\/v1\/services/);
    expect(services.services.map((s: { appId: string }) => s.appId).sort()).toEqual([
      '/func-a/api',
      '/func-a/billing',
      '/func-a/search',
      '/func-a/session-cache',
      '/func-a/web',
    ]);
    const problems = await apiRun(/\/v1\/problems/);
    expect(problems.problems).toEqual(expect.arrayContaining([expect.objectContaining({ appId: '/integration/legacy-portal', code: expect.any(String) })]));

    // The Grafana dashboard only asks for metrics a running berth exposes.
    const scrape = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    const exposed = new Set([...scrape.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]));
    expect(unknownMetrics((n) => exposed.has(n))).toEqual([]);

    // What is running now, to check afterwards that it is gone.
    const pidFile = path.join(cwd, 'var/nginx-demo/nginx.pid');
    const master = nginx ? Number(fs.readFileSync(pidFile, 'utf8').trim()) : undefined;
    const workers = master ? childrenOf(master) : [];
    if (master) expect(workers.length).toBeGreaterThan(0);

    // Ctrl-C in a terminal: SIGINT to the whole foreground process group.
    process.kill(-(proc.pid as number), 'SIGINT');
    expect(await exited).toBe(0);
    expect(stderr()).toContain('nothing left running');
    if (master) expect(processAlive(master)).toBe(false);
    for (const w of workers) expect(processAlive(w)).toBe(false);
    expect(processesMentioning(cwd)).toEqual([]);
    for (const p of [httpPort, nginxPort, tcpPort, httpsPort, dnsPort]) expect(await tcpPortFree('127.0.0.1', p)).toBe(true);
    expect(await udpPortFree('127.0.0.1', dnsPort)).toBe(true);
  });

  it('says RENDER ONLY without Nginx, and a restart on the same ./var gives the apps their IPs back', async () => {
    const [httpPort, dnsPort] = await freePorts(2);
    const { proc, out, err, exited, commands } = await startDemo([
      '--http-addr',
      `127.0.0.1:${httpPort}`,
      '--dns-addr',
      `127.0.0.1:${dnsPort}`,
      '--no-nginx',
      '--no-churn',
    ]);
    expect(out()).toContain('RENDER ONLY: started with --no-nginx');
    expect(commands.some((c) => c.includes('Host:') || c.includes('telnet:'))).toBe(false);
    expect(fs.readdirSync(path.join(cwd, 'var/nginx/integration/http')).length).toBeGreaterThan(5);
    if (dig && firstCaches.length) {
      expect(await runPanel(commands, /\+short cache\./)).toBe(firstCaches[0]);
      expect(await runPanel(commands, /-b 127\.0\.0\.2 cache\./)).toBe(firstCaches[1]);
    }
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(err()).toContain('nothing left running');
    expect(processesMentioning(cwd)).toEqual([]);
    expect(await tcpPortFree('127.0.0.1', httpPort)).toBe(true);
  });
});
