import fs from 'node:fs';
import path from 'node:path';
import { formatDryRun, renderDryRun } from '../../src/nginx/dry-run';
import { InMemoryRegistryView } from '../../src/registry/view';
import { aService, anEndpoint, TEMPLATES_DIR, tmpDir, withEndpoints } from './helpers';

describe('renderDryRun', () => {
  it('shows what would be written and removed with a unified diff, touching nothing', async () => {
    const dir = tmpDir();
    const view = new InMemoryRegistryView();
    view.set([aService({ appId: '/web' }, withEndpoints(anEndpoint('10.0.0.1', 80)))]);
    const first = await renderDryRun({ view, dir, templatesDir: TEMPLATES_DIR, httpListen: '80' });
    expect(first.files).toEqual([expect.objectContaining({ path: 'default/http/web.conf', action: 'write' })]);
    expect(first.diff).toContain('--- /dev/null\n+++ b/default/http/web.conf\n');
    expect(fs.existsSync(path.join(dir, 'default'))).toBe(false);

    // Put the first rendering on disk, then change the catalog.
    fs.mkdirSync(path.join(dir, 'default/http'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'default/http/web.conf'), first.files[0].content!);
    fs.writeFileSync(path.join(dir, 'default/http/old.conf'), '# berth: /old in default, servers=0; generated, do not edit\nserver {}\n');
    view.set([aService({ appId: '/web' }, withEndpoints(anEndpoint('10.0.0.2', 80)))]);
    const second = await renderDryRun({ view, dir, templatesDir: TEMPLATES_DIR, httpListen: '80' });
    expect(second.files.map((f) => [f.path, f.action])).toEqual([
      ['default/http/old.conf', 'remove'],
      ['default/http/web.conf', 'write'],
    ]);
    expect(second.diff).toContain('-    server 10.0.0.1:80 max_fails=1 fail_timeout=5s;  # t.10.0.0.1.80');
    expect(second.diff).toContain('+    server 10.0.0.2:80 max_fails=1 fail_timeout=5s;  # t.10.0.0.2.80');
    expect(second.diff).toContain('--- a/default/http/old.conf\n+++ /dev/null\n');
    expect(fs.readFileSync(path.join(dir, 'default/http/web.conf'), 'utf8')).toBe(first.files[0].content);
    const text = formatDryRun(second);
    expect(text).toContain('1 to write, 1 to remove, 0 unchanged\n  remove default/http/old.conf\n  write  default/http/web.conf\n');
    expect(text).toContain('+    server 10.0.0.2:80');
  });
});
