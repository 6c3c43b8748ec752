import fs from 'node:fs';
import path from 'node:path';
import { planSync } from '../../src/nginx/plan';
import { compileTemplates } from '../../src/nginx/templates';
import { RenderMemo } from '../../src/nginx/render-memo';
import { renderServices } from '../../src/nginx/render';
import { aService, anEndpoint, TEMPLATES_DIR, withEndpoints } from './helpers';

const templates = compileTemplates({
  http: fs.readFileSync(path.join(TEMPLATES_DIR, 'http.conf.hbs'), 'utf8'),
  stream: fs.readFileSync(path.join(TEMPLATES_DIR, 'stream.conf.hbs'), 'utf8'),
});

describe('render memo across runs', () => {
  it('gives a changed service new content and an unchanged one the same file as a fresh render', () => {
    const memo = new RenderMemo();
    const a = aService({ appId: '/a' });
    const b = aService({ appId: '/b' });
    const first = renderServices([a, b], templates, '80', memo).files;
    memo.rotate();
    const b2 = withEndpoints(anEndpoint('10.0.0.9', 8080))(b);
    // `a` again as an equal copy (a reloaded registry) and as the same object: both hit the memo.
    const second = renderServices([{ ...a }, b2], templates, '80', memo).files;
    memo.rotate();
    const third = renderServices([a, b2], templates, '80', memo).files;
    const fresh = renderServices([a, b2], templates, '80').files;
    expect(third.map((f) => f.content)).toEqual(fresh.map((f) => f.content));
    expect(second[0].content).toBe(first[0].content);
    expect(third[1].content).not.toBe(first[1].content);
    expect(third[1].content).toContain('10.0.0.9');
  });

  it('keeps the render order of env + app id as one string', () => {
    const files = renderServices([aService({ env: 'default-2', appId: '/y' }), aService({ env: 'default', appId: '/x' })], templates, '80').files;
    // "default-2/y" sorts before "default/x" ('-' < '/'): the order that decides a contested TCP port.
    expect(files.map((f) => f.env)).toEqual(['default-2', 'default']);
  });
});

describe('render memo: a run renders what changed and gives the same result as a full render', () => {
  const web = (k: number, port = 8080) => aService({ appId: `/app-${k}` }, withEndpoints(anEndpoint(`10.0.0.${k}`, port)));
  const tcp = (appId: string, listen: number) => aService({ appId, proxy: 'tcp', listen, domains: [`${appId.slice(1)}.berth.test`] });
  const same = (a: ReturnType<typeof renderServices>, b: ReturnType<typeof renderServices>) => {
    expect(a.files.map((f) => [f.path, f.content])).toEqual(b.files.map((f) => [f.path, f.content]));
    expect(a.rejected).toEqual(b.rejected);
  };

  it('an endpoint change in place: the changed file is new, every other is the very same object', () => {
    const memo = new RenderMemo();
    const list = Array.from({ length: 20 }, (_, k) => web(k));
    const first = renderServices(list, templates, '80', memo);
    memo.rotate();
    const next = [...list];
    next[7] = web(7, 9090);
    const second = renderServices(next, templates, '80', memo);
    memo.rotate();
    same(second, renderServices(next, templates, '80'));
    expect(second.files.filter((f, i) => f !== first.files[i]).map((f) => f.appId)).toEqual(['/app-7']);
    expect(second.files.find((f) => f.appId === '/app-7')!.content).toContain('10.0.0.7:9090');
    // Back to what it was (an entry dropped after the last run is rendered again, with the same text).
    const third = renderServices(list, templates, '80', memo);
    same(third, first);
  });

  it('a list the caller changes after a run (a service pushed onto the same array) is rendered as it is now', () => {
    const memo = new RenderMemo();
    const list = [web(1)];
    renderServices(list, templates, '80', memo);
    memo.rotate();
    list.push(web(2));
    expect(renderServices([...list], templates, '80', memo).files.map((f) => f.appId)).toEqual(['/app-1', '/app-2']);
  });

  it('a service that turns invalid in place is rejected, and rendered again once it is valid', () => {
    const memo = new RenderMemo();
    const list = [web(1), web(2), web(3)];
    renderServices(list, templates, '80', memo);
    memo.rotate();
    const broken = [list[0], { ...list[1], domains: ['bad domain;'] }, list[2]];
    const r = renderServices(broken, templates, '80', memo);
    memo.rotate();
    same(r, renderServices(broken, templates, '80'));
    expect(r.rejected.map((x) => [x.appId, x.code])).toEqual([['/app-2', 'NGINX_INVALID_SERVICE']]);
    same(renderServices(list, templates, '80', memo), renderServices(list, templates, '80'));
  });

  it('a TCP service moving onto a taken port, services added and removed: the result a full render gives', () => {
    const memo = new RenderMemo();
    const runs = [
      [tcp('/db', 5432), tcp('/mq', 5672), web(1)],
      [tcp('/db', 5432), tcp('/mq', 5432), web(1)],
      [tcp('/db', 5433), tcp('/mq', 5432), web(1), web(2)],
      [tcp('/mq', 5432), web(2)],
      [tcp('/mq', 5432), { ...web(2), proxy: 'tcp' as const, listen: 5432 }],
    ];
    for (const list of runs) {
      same(renderServices(list, templates, '80', memo), renderServices(list, templates, '80'));
      memo.rotate();
    }
  });

  it('two services naming the same file: the first keeps it whatever changes', () => {
    const memo = new RenderMemo();
    const a = web(1);
    const twin = { ...web(1, 9999) };
    for (const list of [
      [a, twin],
      [{ ...a, domains: ['bad domain;'] }, twin],
      [a, { ...twin, endpoints: [] }],
    ]) {
      same(renderServices(list, templates, '80', memo), renderServices(list, templates, '80'));
      memo.rotate();
    }
  });

  it('domains shared by path (berth.path): in-place changes of path apps and of the / app give what a full render gives', () => {
    const memo = new RenderMemo();
    const shop = 'shop.berth.test';
    const root = aService({ appId: '/web', domains: [shop, 'www.berth.test'], options: { sticky: 'cookie' } }, withEndpoints(anEndpoint('10.0.0.1', 80)));
    const api = aService({ appId: '/api', domains: [shop], paths: ['/api'] }, withEndpoints(anEndpoint('10.0.0.2', 80)));
    const other = web(3);
    const twinRoot = aService({ appId: '/web2', domains: [shop] }, withEndpoints(anEndpoint('10.0.0.4', 80)));
    const runs = [
      [api, other, root],
      // Same names in the same places: the path app moves off the domain, then back with sticky and strip.
      [{ ...api, domains: ['api.berth.test'] }, other, root],
      [{ ...api, pathStrip: true as const, options: { sticky: 'cookie' as const } }, other, root],
      // Only the / app (a member) scales, then only an unrelated service changes.
      [api, other, withEndpoints(anEndpoint('10.0.0.9', 80))(root)],
      [api, web(3, 9090), root],
      // The path app becomes invalid: the / app serves its domain alone again.
      [{ ...api, paths: ['no slash'] }, web(3, 9090), root],
      [api, web(3, 9090), root],
      // A second / app on the domain is refused by the render (its file out too), then an unrelated change.
      [api, web(3, 9090), root, twinRoot],
      [api, web(3, 7070), root, twinRoot],
      [api, web(3, 7070), root, { ...twinRoot }],
    ];
    for (const list of runs) {
      const got = renderServices(list, templates, '80', memo);
      same(got, renderServices(list, templates, '80'));
      memo.rotate();
    }
  });
});

describe('planSync with what berth wrote', () => {
  it('compares by the text berth wrote, and falls back to the bytes when it does not know', () => {
    const files = renderServices([aService({ appId: '/a' })], templates, '80').files;
    const disk = new Map([[files[0].path, Buffer.from(files[0].content)]]);
    const known = { text: (p: string) => (p === files[0].path ? files[0].content : undefined), servers: () => 1 };
    expect(planSync(files, disk, new Set(), known).changes).toEqual([]);
    expect(planSync(files, disk, new Set()).changes).toEqual([]);
    const stale = { text: () => 'something else', servers: () => 1 };
    expect(planSync(files, disk, new Set(), stale).changes.map((c) => c.path)).toEqual([files[0].path]);
  });
});
