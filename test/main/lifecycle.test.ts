import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { Registry } from 'prom-client';
import { buildApp } from '../../src/http/app';
import { silentLogger } from '../../src/log';
import { waitFor } from '../support/wait';
import { berthArgv } from '../support/spawn';

describe('berth run (process)', () => {
  it('starts on the embedded database with an empty environment, serves /healthz, and exits 0 on SIGTERM within 5 s', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-run-'));
    const child = spawn(process.execPath, berthArgv('run'), {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir, BERTH_HTTP_ADDR: '127.0.0.1:0', BERTH_DNS_ADDR: '127.0.0.1:0', BERTH_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const url = await waitFor(
        () => /"url":"(http:[^"]+)","msg":"API listening"/.exec(out)?.[1],
        // Started from source through tsx: transpiling every module and creating PGlite took ~30 s
        // at load 10 on the 2-core machine (about 5 s when quiet); this waits, it does not time.
        90000,
        () => out,
      );
      const health = await fetch(`${url}/healthz`).then((r) => r.json());
      expect(health).toEqual({ status: 'ok', db: 'pglite', role: 'leader' });
      expect(fs.existsSync(path.join(dir, 'var', 'db', 'PG_VERSION'))).toBe(true);
      const t0 = Date.now();
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(Date.now() - t0).toBeLessThan(5000);
    } finally {
      child.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120000);

  it('exits 2 naming every bad key when the configuration is invalid', async () => {
    const child = spawn(process.execPath, berthArgv('run'), {
      env: { PATH: process.env.PATH, BERTH_DNS_TTL: 'abc', BERTH_SYNC_INTERVAL_MS: '-1', BERTH_API_TOKENS: ' , ' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).toBe(2);
    expect(err).toContain('BERTH_DNS_TTL: must be an integer ≥ 0 and ≤ 2147483647, got "abc"');
    expect(err).toContain('BERTH_SYNC_INTERVAL_MS:');
    // A token list of empty entries is not "no tokens" (issue 16).
    expect(err).toContain('BERTH_API_TOKENS: entry 1 of 2 is empty');
  });
});

describe('graceful shutdown', () => {
  it('lets an in-flight request finish when the server closes', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const app = await buildApp({
      logger: silentLogger,
      metricsRegistry: new Registry(),
      apiTokens: [],
      readiness: [],
      register: (a) =>
        a.get('/slow', async () => {
          entered();
          await gate;
          return { done: true };
        }),
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const port = (app.server.address() as { port: number }).port;
    const response = new Promise<string>((resolve, reject) =>
      http
        .get({ host: '127.0.0.1', port, path: '/slow' }, (res) => {
          let b = '';
          res.on('data', (d) => (b += d));
          res.on('end', () => resolve(b));
        })
        .on('error', reject),
    );
    await inside;
    const closed = app.close();
    release();
    expect(JSON.parse(await response)).toEqual({ done: true });
    await closed;
  });
});
