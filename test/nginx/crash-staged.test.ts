import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describeWithTools, itWithTools } from '../support/tools';
import { aService, anEndpoint, TEMPLATES_DIR, tmpDir, waitFor, withEndpoints } from './helpers';
import { freePort, startNginx, type RealNginx } from './nginx-harness';

const CHILD = path.join(__dirname, 'fixtures/staged-child.ts');

/** A berth child process syncing `catalog`; `lines` collects its run lines. */
function spawnChild(nginx: RealNginx, testCmd: string, catalogFile: string): { child: ChildProcess; lines: string[]; exited: Promise<void> } {
  const args = [CHILD, nginx.dir, TEMPLATES_DIR, `127.0.0.1:${nginx.httpPort}`, testCmd, nginx.reloadCmd, nginx.conf, catalogFile];
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: path.resolve(__dirname, '../..'), stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  child.stdout!.on('data', (b: Buffer) => lines.push(...b.toString().split('\n').filter(Boolean)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return { child, lines, exited };
}

/** `nginx -t` of the live configuration (the operator's nginx.conf, which includes the live folder). */
const liveTest = (nginx: RealNginx) => spawnSync('sh', ['-c', nginx.testCmd], { encoding: 'utf8' });

describeWithTools(['nginx'], 'SIGKILL while the staged test runs on a change that fails', () => {
  let nginx: RealNginx;
  beforeAll(async () => {
    nginx = await startNginx();
  });
  afterAll(async () => {
    await nginx?.stop();
  });

  it('the live folder never holds the untested change, nginx -t of the live conf passes at the kill and after, and the restart converges', async () => {
    const work = tmpDir('berth-crash-staged-');
    const block = path.join(work, 'block');
    const blocked = path.join(work, 'blocked-pid');
    const fifo = path.join(work, 'fifo');
    execFileSync('mkfifo', [fifo]);
    // While the flag exists the test command says so (its pid) and blocks; it is ended by the kill.
    // Otherwise it is the real test of the candidate conf.
    const script = path.join(work, 'test.sh');
    fs.writeFileSync(
      script,
      `if [ -e '${block}' ]; then echo $$ > '${blocked}.tmp'; mv '${blocked}.tmp' '${blocked}'; read x < '${fifo}'; fi\nexec ${nginx.candidateTestCmd}\n`,
    );
    const testCmd = `sh '${script}'`; // staged because BERTH_NGINX_MAIN_CONF is set; the script reads the variable
    const listen = await freePort();
    const tcp = (env: string) => aService({ env, appId: '/db', proxy: 'tcp', listen, domains: ['db.berth.test'] }, withEndpoints(anEndpoint('127.0.0.1', 9)));
    const web = (port: number) => aService({ appId: '/web', domains: ['web.berth.test'] }, withEndpoints(anEndpoint('127.0.0.1', port)));
    const catalog = path.join(work, 'catalog.json');

    // 1. A good catalog is live.
    fs.writeFileSync(catalog, JSON.stringify([web(1001), tcp('default')]));
    const first = spawnChild(nginx, testCmd, catalog);
    await waitFor(() => first.lines.includes('run applied offenders='), 'the first catalog to be applied', 60_000);
    first.child.kill('SIGKILL');
    await first.exited;

    // 2. A change that fails nginx -t (qa claims the same TCP port) plus a good one; killed mid-test.
    fs.writeFileSync(catalog, JSON.stringify([web(1002), tcp('default'), tcp('qa')]));
    fs.writeFileSync(block, '');
    const second = spawnChild(nginx, testCmd, catalog);
    const pid = await (async () => {
      await waitFor(() => fs.existsSync(blocked), 'the test command to run (blocked)', 60_000);
      return Number(fs.readFileSync(blocked, 'utf8').trim());
    })();
    const staged = path.join(nginx.dir, '.staging');
    expect(fs.existsSync(path.join(staged, 'qa/stream/db.conf'))).toBe(true); // the failing change is under test…
    expect(fs.existsSync(path.join(nginx.dir, 'qa/stream/db.conf'))).toBe(false); // …and not where Nginx reads
    expect(fs.readFileSync(path.join(nginx.dir, 'default/http/web.conf'), 'utf8')).toContain('127.0.0.1:1001');
    second.child.kill('SIGKILL');
    await second.exited;
    process.kill(pid, 'SIGKILL');
    fs.rmSync(block);
    const atKill = liveTest(nginx);
    expect(atKill.stderr).toBe('');
    expect(atKill.status).toBe(0);

    // 3. Restart: leftover staging discarded, the offender found, the good change shipped, all in the first run;
    // the live configuration passes nginx -t at every moment we look while it runs.
    const liveFailures: string[] = [];
    const third = spawnChild(nginx, testCmd, catalog);
    await waitFor(
      () => {
        const r = liveTest(nginx);
        if (r.status !== 0) liveFailures.push(r.stderr);
        return third.lines.length > 0;
      },
      'the restarted child to finish its first run',
      60_000,
    );
    expect(third.lines[0]).toBe('run applied offenders=qa:/db');
    expect(liveFailures).toEqual([]);
    expect(fs.existsSync(path.join(nginx.dir, 'qa/stream/db.conf'))).toBe(false);
    expect(fs.existsSync(path.join(staged, 'qa/stream/db.conf'))).toBe(false);
    expect(fs.readFileSync(path.join(nginx.dir, 'default/http/web.conf'), 'utf8')).toContain('127.0.0.1:1002');
    const after = liveTest(nginx);
    expect(after.status).toBe(0);
    third.child.kill('SIGKILL');
    await third.exited;
  }, 180_000);
});

itWithTools(['nginx'], "nginx include globs skip berth's dot-named staging tree and candidate conf", () => {
  const dir = tmpDir('berth-glob-');
  fs.mkdirSync(path.join(dir, '.staging/default/http'), { recursive: true });
  fs.writeFileSync(path.join(dir, '.staging/default/http/bad.conf'), 'not_a_directive;\n');
  fs.writeFileSync(path.join(dir, '.candidate-nginx.conf'), 'events {}\n');
  fs.mkdirSync(path.join(dir, 'default/http'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'default/http/ok.conf'), '# nothing\n');
  const conf = path.join(tmpDir('berth-glob-conf-'), 'main.conf');
  fs.writeFileSync(conf, `events {}\nhttp { include ${dir}/*.conf; include ${dir}/*/*/http/*.conf; include ${dir}/*/http/*.conf; }\n`);
  const ok = spawnSync('nginx', ['-p', `${dir}/`, '-c', conf, '-t', '-q', '-g', `pid ${dir}/nginx.pid; error_log ${dir}/error.log;`], { encoding: 'utf8' });
  expect(ok.stderr).toBe('');
  expect(ok.status).toBe(0);
  // The same files without the leading dot would be read (the check above can fail).
  fs.renameSync(path.join(dir, '.staging'), path.join(dir, 'staging'));
  const bad = spawnSync('nginx', ['-p', `${dir}/`, '-c', conf, '-t', '-q', '-g', `pid ${dir}/nginx.pid; error_log ${dir}/error.log;`], { encoding: 'utf8' });
  expect(bad.status).not.toBe(0);
});
