import { spawn } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { MarathonClient } from '../../src/marathon/client';
import { startDemoMarathon } from '../../src/sim/demo';
import { waitFor } from '../support/wait';

describe('simulator demo and standalone process', () => {
  it('deploys demo apps whose tasks reach real loopback backends', async () => {
    const demo = await startDemoMarathon({ flavour: '1.10' });
    try {
      const apps = await new MarathonClient({ urls: [demo.sim.url] }).getApps();
      expect(apps.map((a) => a.id).sort()).toEqual(['/demo/api', '/demo/broken', '/demo/db', '/demo/web', '/other/not-berth']);
      const web = apps.find((a) => a.id === '/demo/web');
      expect(web?.tasks).toHaveLength(2);
      for (const t of web?.tasks ?? []) {
        const res = await fetch(`http://${t.host}:${t.ports?.[0]}/`);
        expect(await res.text()).toMatch(/^hello from \/demo\/web task \d/);
      }
      const db = apps.find((a) => a.id === '/demo/db');
      expect(db?.tasks?.[0].ipAddresses).toEqual([{ ipAddress: '10.10.0.5', protocol: 'IPv4' }]);
    } finally {
      await demo.close();
    }
  });

  it('runs as a child process, prints its URL and obeys /_sim control over HTTP', async () => {
    const root = path.resolve(__dirname, '../..');
    const child = spawn(
      process.execPath,
      ['--import', pathToFileURL(require.resolve('tsx')).href, path.join(root, 'src/sim/main.ts'), '--flavour', '1.4', '--keepalive-ms', '100'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d) => {
      out += String(d);
    });
    try {
      const line = await waitFor(
        () => out.split('\n').find((l) => l.startsWith('{')),
        20_000,
        () => out,
      );
      const { url, flavour } = JSON.parse(line) as { url: string; flavour: string };
      expect(flavour).toBe('1.4');
      await fetch(`${url}/_sim/apps`, { method: 'POST', body: JSON.stringify({ id: '/child', cmd: 'sleep 1', instances: 2 }) });
      const apps = await new MarathonClient({ urls: [url] }).getApps();
      expect(apps[0].tasks).toHaveLength(2);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });
});
