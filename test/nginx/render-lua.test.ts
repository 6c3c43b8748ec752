import { RenderMemo } from '../../src/nginx/render-memo';
import { renderServices } from '../../src/nginx/render';
import { serversInFile } from '../../src/nginx/rendered-file';
import { loadTemplates } from '../../src/nginx/templates';
import { EntryBuilder } from '../../src/nginx/lua/entries';
import { aService, anEndpoint, TEMPLATES_DIR, withEndpoints } from './helpers';

const web = (...ports: number[]) => aService({ appId: '/web' }, withEndpoints(...ports.map((p) => anEndpoint('10.0.0.1', p))));
const db = (...ports: number[]) => aService({ appId: '/db', proxy: 'tcp', listen: 5432 }, withEndpoints(...ports.map((p) => anEndpoint('10.0.0.9', p))));

describe('rendering with BERTH_NGINX_DYNAMIC=lua', () => {
  it('HTTP files hold no endpoint and stay the same string when a service scales; TCP files still follow endpoints', async () => {
    const templates = await loadTemplates(TEMPLATES_DIR, { lua: true });
    const memo = new RenderMemo();
    const first = renderServices([web(80), db(5432)], templates, '127.0.0.1:8080', memo, 'lua');
    memo.rotate();
    const second = renderServices([web(81, 82), db(5433)], templates, '127.0.0.1:8080', memo, 'lua');
    const http = (r: typeof first) => r.files.find((f) => f.path === 'default/http/web.conf')!;
    const tcp = (r: typeof first) => r.files.find((f) => f.path === 'default/stream/db.conf')!;
    expect(http(first).content).not.toMatch(/10\.0\.0\.1/);
    expect(http(first).content).toMatch(/balancer_by_lua_block/);
    expect(http(second).content).toBe(http(first).content);
    expect(serversInFile(http(second).content)).toBe(0);
    expect(tcp(second).content).toMatch(/10\.0\.0\.9:5433/);
    expect(tcp(second).content).not.toBe(tcp(first).content);
  });

  it('a domain change still changes the HTTP file (that is what a reload is for)', async () => {
    const templates = await loadTemplates(TEMPLATES_DIR, { lua: true });
    const a = renderServices([web(80)], templates, '80', undefined, 'lua').files[0].content;
    const b = renderServices([{ ...web(80), domains: ['other.berth.internal'] }], templates, '80', undefined, 'lua').files[0].content;
    expect(b).not.toBe(a);
    expect(b).toMatch(/server_name other\.berth\.internal;/);
  });

  it('off (the default) keeps endpoints in the HTTP file', async () => {
    const templates = await loadTemplates(TEMPLATES_DIR);
    const file = renderServices([web(80)], templates, '80').files[0];
    expect(file.content).toMatch(/server 10\.0\.0\.1:80 /);
    expect(() => renderServices([web(80)], templates, '80', undefined, 'lua')).toThrow(/http-lua\.conf\.hbs/);
  });

  it('each port of a several-port app gets its own upstream, and the pushed endpoints are keyed by the name its file uses', async () => {
    const templates = await loadTemplates(TEMPLATES_DIR, { lua: true });
    const main = web(80);
    const admin = { ...aService({ appId: '/web', domains: ['admin.web.berth.internal'] }, withEndpoints(anEndpoint('10.0.0.1', 9090))), port: 'admin' };
    const { files } = renderServices([main, admin], templates, '80', undefined, 'lua');
    const entries = new EntryBuilder().build([main, admin]);
    expect(entries.size).toBe(2);
    for (const [upstream, targets] of entries) {
      const file = files.filter((f) => f.content.includes(`upstream ${upstream} {`));
      expect(file).toHaveLength(1);
      expect(targets).toBe(upstream.endsWith('_4admin') ? '10.0.0.1:9090' : '10.0.0.1:80');
    }
  });
});
