/**
 * The Lua balancer's sticky ranking (`berth_balancer.rank`, rendezvous hashing) over many keys, run
 * inside a real Nginx with the Lua module: each endpoint gets a fair share of the keys, an endpoint
 * leaving moves only its own keys (spread over the others), and one joining takes only about 1/n,
 * all to itself.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { NGINX_MODULES, describeWithTools } from '../support/tools';
import { TEMPLATES_DIR, tmpDir, waitFor } from './helpers';
import { freePort } from './nginx-harness';

const KEYS = 6000;

// Keys shaped like the cookie values ($request_id: 32 hex digits) and like `ip` keys (4 raw bytes).
const EXPERIMENT = `
local b = require("berth_balancer")
local function peers(list)
  local out = {}
  for i, k in ipairs(list) do out[i] = { key = k } end
  return out
end
local three = peers({ "10.0.0.1:8080", "10.0.0.2:8080", "[fd00::3]:8080" })
local two = peers({ "10.0.0.1:8080", "[fd00::3]:8080" })
local four = peers({ "10.0.0.1:8080", "10.0.0.2:8080", "[fd00::3]:8080", "10.0.0.4:31000" })
local share, badRemove, movedRemove, badAdd, movedAdd, ipShare = {}, 0, {}, 0, 0, {}
for i = 1, ${KEYS} do
  local key = ngx.md5("client " .. i)
  local top = b.rank(key, three)[1].key
  share[top] = (share[top] or 0) + 1
  local after = b.rank(key, two)[1].key
  if top == "10.0.0.2:8080" then
    movedRemove[after] = (movedRemove[after] or 0) + 1
  elseif after ~= top then
    badRemove = badRemove + 1
  end
  local added = b.rank(key, four)[1].key
  if added == "10.0.0.4:31000" then
    movedAdd = movedAdd + 1
  elseif added ~= top then
    badAdd = badAdd + 1
  end
  local ip = string.char(10, math.floor(i / 65536) % 256, math.floor(i / 256) % 256, i % 256)
  local ipTop = b.rank(ip, three)[1].key
  ipShare[ipTop] = (ipShare[ipTop] or 0) + 1
end
local function line(name, t)
  local parts = {}
  for k, v in pairs(t) do parts[#parts + 1] = k .. "=" .. v end
  table.sort(parts)
  ngx.say(name, " ", table.concat(parts, ","))
end
line("share", share)
line("ipShare", ipShare)
line("movedRemove", movedRemove)
ngx.say("badRemove ", badRemove)
ngx.say("movedAdd ", movedAdd)
ngx.say("badAdd ", badAdd)
`;

function fetchText(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 20_000 }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}: ${body}`))));
      })
      .on('error', reject);
  });
}

const counts = (line: string | undefined): Record<string, number> =>
  Object.fromEntries(
    (line ?? '')
      .split(' ')[1]
      .split(',')
      .map((kv) => [kv.slice(0, kv.lastIndexOf('=')), Number(kv.slice(kv.lastIndexOf('=') + 1))]),
  );

describeWithTools(['nginx-lua'], 'Lua balancer: sticky ranking (rendezvous hashing)', () => {
  it(`spreads ${KEYS} keys fairly and moves only the keys it must when an endpoint leaves or joins`, async () => {
    const prefix = tmpDir('berth-lua-rank-');
    fs.chmodSync(prefix, 0o755); // the worker (nobody) reads the experiment file
    const port = await freePort();
    fs.writeFileSync(path.join(prefix, 'experiment.lua'), EXPERIMENT);
    const conf = path.join(prefix, 'nginx.conf');
    fs.writeFileSync(
      conf,
      `load_module ${NGINX_MODULES}/ndk_http_module.so;
load_module ${NGINX_MODULES}/ngx_http_lua_module.so;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log;
events {}
http {
    access_log off;
    client_body_temp_path ${prefix}/body;
    lua_package_path "${path.join(TEMPLATES_DIR, 'lua')}/?.lua;;";
    lua_shared_dict berth_endpoints 1m;
    lua_shared_dict berth_failed 1m;
    server {
        listen 127.0.0.1:${port};
        location / { content_by_lua_file ${prefix}/experiment.lua; }
    }
}
`,
    );
    const child = spawn('nginx', ['-p', `${prefix}/`, '-c', conf, '-g', 'daemon off;'], { stdio: 'ignore' });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    try {
      let out = '';
      let last = '';
      await waitFor(async () => {
        if (child.exitCode !== null) throw new Error(`nginx exited: ${fs.readFileSync(path.join(prefix, 'error.log'), 'utf8')}`);
        out = await fetchText(port).catch((e: Error) => ((last = e.message), ''));
        return out !== '';
      }, 'the experiment to answer').catch((e: Error) => {
        throw new Error(`${e.message}: ${last} ${fs.readFileSync(path.join(prefix, 'error.log'), 'utf8').slice(-2000)}`);
      });
      const lines = out.trim().split('\n');
      const get = (name: string) => lines.find((l) => l.startsWith(`${name} `));
      const fair = KEYS / 3;
      for (const shares of [counts(get('share')), counts(get('ipShare'))]) {
        expect(Object.keys(shares)).toHaveLength(3);
        // A third each, within 10 % of a third (binomial spread at 6,000 keys is about 1.1 %).
        for (const n of Object.values(shares)) expect(Math.abs(n - fair)).toBeLessThan(fair * 0.1);
      }
      // Removing 10.0.0.2: its keys split between the two others, nobody else moves.
      const moved = counts(get('movedRemove'));
      expect(Object.keys(moved).sort()).toEqual(['10.0.0.1:8080', '[fd00::3]:8080']);
      expect(get('badRemove')).toBe('badRemove 0');
      // Adding a fourth: about a quarter moves, all of it to the new endpoint.
      const movedAdd = Number(get('movedAdd')!.split(' ')[1]);
      expect(Math.abs(movedAdd - KEYS / 4)).toBeLessThan((KEYS / 4) * 0.1);
      expect(get('badAdd')).toBe('badAdd 0');
      console.log(`lua sticky ranking over ${KEYS} keys:\n${out.trim()}`);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  }, 60_000);
});
