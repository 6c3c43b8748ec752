/**
 * Rendering ahead in a worker thread (render-ahead.ts): what a worker renders for a registry write
 * is put into the run's memo, and the run after it calls no template for those services and
 * writes exactly the files a render without it writes. What depends on more than a service's own
 * value (TLS, paths, domains shared by path) is left to the run. A worker that fails, stalls or is
 * cancelled delivers nothing, and the run renders everything itself.
 */
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import type { Service } from '../../src/model/types';
import { renderServices, seedMemo } from '../../src/nginx/render';
import { renderInWorker, type AheadSetup } from '../../src/nginx/render-ahead';
import { RenderMemo } from '../../src/nginx/render-memo';
import { NginxSync } from '../../src/nginx/sync';
import type { DynamicMode } from '../../src/nginx/template-context';
import { compileTemplates, type TemplateSources, type Templates } from '../../src/nginx/templates';
import { InMemoryRegistryView } from '../../src/registry/view';
import { aService, anEndpoint, FakeControl, fakeSyncOptions, RecordingStore, TEMPLATES_DIR, tmpDir, waitFor, withEndpoints } from './helpers';

const read = (f: string) => fs.readFileSync(path.join(TEMPLATES_DIR, f), 'utf8');
const sources: TemplateSources = { http: read('http.conf.hbs'), stream: read('stream.conf.hbs'), httpLua: read('http-lua.conf.hbs') };
const templates = compileTemplates(sources);
const LISTEN = '127.0.0.1:8080';

/** The templates, counting the services they render. */
function counting(): { t: Templates; calls: () => number } {
  let n = 0;
  const wrap =
    (f: Templates['http']): Templates['http'] =>
    (ctx) => {
      n++;
      return f(ctx);
    };
  return { t: { http: wrap(templates.http), stream: wrap(templates.stream), httpLua: wrap(templates.httpLua!) }, calls: () => n };
}

const web = (k: number) => aService({ appId: `/app-${k}` }, withEndpoints(anEndpoint(`10.0.${k >> 8}.${k & 255}`, 8080)));
const tcp = aService({ appId: '/db', proxy: 'tcp', listen: 5432, domains: ['db.berth.internal'] }, withEndpoints(anEndpoint('10.0.9.1', 5432)));
const tls = aService({ appId: '/secure', tls: 'on' }, withEndpoints(anEndpoint('10.0.9.2', 8080)));
const pathApp = aService({ appId: '/api', domains: ['shop.berth.internal'], paths: ['/api'], dns: 'proxy' }, withEndpoints(anEndpoint('10.0.9.3', 8080)));
const root = aService({ appId: '/shop', domains: ['shop.berth.internal', 'www.berth.internal'], dns: 'proxy' }, withEndpoints(anEndpoint('10.0.9.4', 8080)));
const invalid: Service = aService({ appId: '/bad', domains: ['bad domain;'] });
const hidden = aService({ appId: '/hidden', proxy: 'none' });
const contents = (r: ReturnType<typeof renderServices>) => r.files.map((f) => [f.path, f.content]);

async function rendered(services: readonly Service[], setup: AheadSetup) {
  const r = await renderInWorker(services, setup).result;
  if (!r.rendered) throw new Error(`the worker failed: ${r.failure}`);
  return r.rendered;
}

describe.each(['off', 'lua'] as DynamicMode[])('a worker renders ahead (BERTH_NGINX_DYNAMIC=%s)', (mode) => {
  const setup: AheadSetup = { sources, httpListen: LISTEN, dynamic: mode };

  test('the run after it calls no template for what the worker rendered and writes the files a render without it writes', async () => {
    const list = [...Array.from({ length: 600 }, (_, k) => web(k)), tcp, invalid];
    const memo = new RenderMemo();
    expect(await seedMemo(list, await rendered(list, setup), memo)).toBe(list.length);
    const c = counting();
    const run = renderServices(list, c.t, LISTEN, memo, mode);
    expect(c.calls()).toBe(0);
    const fresh = renderServices(list, templates, LISTEN, undefined, mode);
    expect(contents(run)).toEqual(contents(fresh));
    expect(run.files.map((f) => f.definitionKey)).toEqual(fresh.files.map((f) => f.definitionKey));
    expect(run.rejected).toEqual(fresh.rejected);
    expect(run.rejected.map((r) => r.appId)).toEqual(['/bad']);
    // Files kept in the memo are frozen, as the run's own are.
    expect(Object.isFrozen(run.files[0])).toBe(true);
  });

  test('TLS, path apps and services without a proxy are left to the run', async () => {
    const list = [web(1), tls, pathApp, hidden];
    const computed = await rendered(list, setup);
    expect(computed.map((c) => c !== null)).toEqual([true, false, false, false]);
    const memo = new RenderMemo();
    expect(await seedMemo(list, computed, memo)).toBe(1);
    const c = counting();
    const run = renderServices(list, c.t, LISTEN, memo, mode);
    // The TLS service, the path app and its shared domain's file: none of them from the worker.
    expect(c.calls()).toBeGreaterThanOrEqual(3);
    expect(contents(run)).toEqual(contents(renderServices(list, templates, LISTEN, undefined, mode)));
  });

  test('a / app rendered ahead as if alone is rendered by the run with the domain a path app shares', async () => {
    const memo = new RenderMemo();
    await seedMemo([root], await rendered([root], setup), memo);
    const run = renderServices([root, pathApp], templates, LISTEN, memo, mode);
    expect(contents(run)).toEqual(contents(renderServices([root, pathApp], templates, LISTEN, undefined, mode)));
    const own = run.files.find((f) => f.appId === '/shop')!;
    expect(own.content).toContain('www.berth.internal');
    expect(own.content).not.toMatch(/server_name[^;]*shop\.berth\.internal/);
  });
});

describe('a worker that does not deliver', () => {
  const setup: AheadSetup = { sources, httpListen: LISTEN, dynamic: 'off' };

  test('templates it cannot compile: the result fails, naming the error', async () => {
    const r = await renderInWorker([web(1)], { ...setup, sources: null as unknown as TemplateSources }).result;
    expect(r.rendered).toBeNull();
    expect(r.failure).toMatch(/^the worker failed: /);
  });

  test('no answer within the stall bound: dropped', async () => {
    // A worker needs far longer than a millisecond to start and compile the templates.
    const r = await renderInWorker([web(1)], setup, 1).result;
    expect(r).toEqual({ rendered: null, failure: 'no answer for 1 ms' });
  });

  test('cancelled: nothing is delivered', async () => {
    const job = renderInWorker([web(1)], setup);
    job.cancel();
    expect(await job.result).toEqual({ rendered: null, failure: 'cancelled' });
  });

  test('a service it cannot be sent (not cloneable): the result fails', async () => {
    const odd = { ...web(1), version: (() => 'x') as unknown as string };
    const r = await renderInWorker([odd], setup).result;
    expect(r.rendered).toBeNull();
    expect(r.failure).toMatch(/could not be sent/);
  });
});

describe('the sync', () => {
  function setup() {
    const dir = tmpDir();
    const store = new RecordingStore();
    const view = new InMemoryRegistryView();
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
    const sync = new NginxSync(fakeSyncOptions({ dir, view, store, control: new FakeControl(), logger }));
    return { dir, store, view, sync, lines };
  }

  test('a run takes what the worker rendered for the registry write and writes the same files as without it', async () => {
    const list = Array.from({ length: 300 }, (_, k) => web(k));
    const a = setup();
    await a.sync.start();
    await waitFor(() => a.sync.status().lastRun !== null, 'the first (empty) run');
    a.sync.renderAhead(list);
    a.view.set(list);
    await waitFor(() => a.sync.status().appliedPosition === 1, 'the run of the write');
    expect(a.sync.status().lastRun).toMatchObject({ status: 'applied', filesWritten: 300 });
    expect(a.lines.find((l) => l.msg === 'nginx: services rendered ahead in a worker thread')).toMatchObject({ services: 300, seeded: 300 });
    await a.sync.stop();

    const b = setup();
    b.view.set(list);
    await b.sync.start();
    await waitFor(() => b.sync.status().appliedPosition === 1, 'the first run');
    expect(b.sync.status().lastRun).toMatchObject({ status: 'applied', filesWritten: 300 });
    expect(b.lines.filter((l) => l.msg === 'nginx: services rendered ahead in a worker thread')).toEqual([]);
    await b.sync.stop();
    const files = (dir: string) => fs.readdirSync(path.join(dir, 'default/http')).map((f) => [f, fs.readFileSync(path.join(dir, 'default/http', f), 'utf8')]);
    expect(files(a.dir)).toEqual(files(b.dir));
  });

  test('stopping the sync drops a render ahead no run took, without logging it as a failure', async () => {
    const a = setup();
    await a.sync.start();
    a.sync.renderAhead(Array.from({ length: 50 }, (_, k) => web(k)));
    await a.sync.stop();
    // Nothing is logged as failed: a cancelled render is not a failure.
    expect(a.lines.filter((l) => String(l.msg).includes('rendering ahead'))).toEqual([]);
  });
});
