/**
 * The peers' strategy, as a baseline for berth's event processing (docs/marathon.md "Snapshots versus refetching on every event":
 * "any event → full fetch", coalesced like marathon-lb: one fetch in flight, events arriving
 * meanwhile cause one more fetch after it). Run as a child process by bench/events/run.ts:
 *
 *   node --import tsx bench/events/baseline.ts <marathon-url>
 *
 * On SIGTERM it prints one JSON line: events seen, fetches made, and each fetch's wall-clock
 * start and end (ms), from which the driver derives event → state latency.
 */
import http from 'node:http';

const base = process.argv[2];
const fetches: Array<[number, number]> = [];
let events = 0;
let inFlight = false;
let pending = false;
let tasksSeen = 0;

function getJson(url: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { Accept: 'application/json' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          } catch (e) {
            reject(e);
          }
        });
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

/** What the peers do with the answer: rebuild the whole service table (here, count running tasks). */
async function fullFetch(): Promise<void> {
  inFlight = true;
  pending = false;
  const start = Date.now();
  try {
    const body = (await getJson(`${base}/v2/apps?embed=apps.tasks`)) as { apps: Array<{ tasks?: Array<{ state?: string; host: string; ports?: number[] }> }> };
    const table = new Map<string, string[]>();
    let n = 0;
    for (const app of body.apps) {
      const eps = (app.tasks ?? []).filter((t) => t.state === 'TASK_RUNNING').map((t) => `${t.host}:${t.ports?.[0]}`);
      n += eps.length;
      table.set(String((app as { id?: string }).id), eps);
    }
    tasksSeen = n;
  } catch {
    /* the peers log and wait for the next event */
  }
  fetches.push([start, Date.now()]);
  inFlight = false;
  if (pending) void fullFetch();
}

function onEvent(): void {
  events++;
  if (inFlight) pending = true;
  else void fullFetch();
}

http.get(`${base}/v2/events?event_type=status_update_event`, { headers: { Accept: 'text/event-stream' } }, (res) => {
  let buf = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    buf += chunk;
    let i: number;
    while ((i = buf.indexOf('\r\n\r\n')) >= 0) {
      const frame = buf.slice(0, i);
      buf = buf.slice(i + 4);
      if (frame.includes('event: status_update_event')) onEvent();
    }
  });
  process.stdout.write('attached\n');
});

process.on('SIGTERM', () => {
  process.stdout.write(`${JSON.stringify({ events, fetches, tasksSeen })}\n`);
  process.exit(0);
});
