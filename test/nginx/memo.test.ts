import fs from 'node:fs';
import path from 'node:path';
import { planSync } from '../../src/nginx/plan';
import { compileTemplates, RenderMemo, renderServices } from '../../src/nginx/render';
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
