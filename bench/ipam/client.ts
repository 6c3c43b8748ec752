/**
 * Load generator for bench/ipam/run.ts, run in its own process so that the clients do not share
 * the server's event loop: `node --import tsx bench/ipam/client.ts <port> <count> <prefix> <pool> <clients> [<warm-pool> <warm-count>]`
 * prints `{latencies, ips, seconds, errors}` as JSON.
 */
import http from 'node:http';

export interface LoadResult {
  latencies: number[];
  ips: string[];
  seconds: number;
  errors: number;
}

/** Sends `count` PUT allocations for `/<prefix>/app-<i>` from `clients` concurrent keep-alive connections. */
export async function load(port: number, count: number, prefix: string, pool: string, clients: number): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const latencies: number[] = [];
  const ips: string[] = [];
  let next = 0;
  let errors = 0;
  const one = (appId: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, agent, method: 'PUT', path: `/v1/pools/${pool}/allocations/${encodeURIComponent(appId)}` }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < count) {
        const i = next++;
        const t0 = process.hrtime.bigint();
        const r = await one(`/${prefix}/app-${i}`);
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        if (r.status === 201) ips.push((JSON.parse(r.body) as { ip: string }).ip);
        else errors++;
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  agent.destroy();
  return { latencies, ips, seconds, errors };
}

if (require.main === module) {
  const [port, count, prefix, pool, clients, warmPool, warmCount] = process.argv.slice(2);
  // A fresh process runs cold (JIT, sockets): warm it on another pool before the measured run.
  const warm = warmPool ? load(Number(port), Number(warmCount), `${prefix}-warm`, warmPool, Number(clients)) : Promise.resolve();
  warm
    .then(() => load(Number(port), Number(count), prefix, pool, Number(clients)))
    .then((r) => process.stdout.write(JSON.stringify(r)))
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}
