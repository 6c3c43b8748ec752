/** Allocation load for the database fault tests: N apps, C workers, every answer kept. */
/** One answer; `at` when it came, `ms` how long it took. */
export interface Answer {
  appId: string;
  status: number;
  ip?: string;
  code?: string;
  at: number;
  ms: number;
}

/** POSTs an allocation for each app id, `workers` at a time; `onAnswer` sees each answer as it comes. */
export async function allocateAll(baseUrl: string, pool: string, appIds: string[], workers: number, onAnswer?: (a: Answer) => void): Promise<Answer[]> {
  const answers: Answer[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < appIds.length) {
        const appId = appIds[next++];
        let a: Answer;
        const t0 = Date.now();
        try {
          const r = await fetch(`${baseUrl}/v1/pools/${pool}/allocations`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ appId }),
          });
          const body = (await r.json().catch(() => ({}))) as { ip?: string; code?: string };
          a = { appId, status: r.status, ip: body.ip, code: body.code, at: Date.now(), ms: Date.now() - t0 };
        } catch (err) {
          // Connection refused/reset (berth killed) or a client-side timeout: the cause is kept for the report.
          const cause = (err as { cause?: { code?: string; message?: string } }).cause;
          a = { appId, status: 0, code: cause?.code ?? cause?.message ?? String(err), at: Date.now(), ms: Date.now() - t0 };
        }
        answers.push(a);
        onAnswer?.(a);
      }
    }),
  );
  return answers;
}

/** Retries until every app holds an address (bounded); returns app → ip. */
export async function settle(baseUrl: string, pool: string, appIds: string[], deadlineMs = 30_000): Promise<Map<string, string>> {
  const held = new Map<string, string>();
  const end = Date.now() + deadlineMs;
  let left = appIds;
  while (left.length && Date.now() < end) {
    const answers = await allocateAll(baseUrl, pool, left, 16);
    for (const a of answers) if ((a.status === 200 || a.status === 201) && a.ip) held.set(a.appId, a.ip);
    left = left.filter((id) => !held.has(id));
    if (left.length) await new Promise((r) => setTimeout(r, 200));
  }
  return held;
}

/**
 * Allocates for fresh app ids (`<prefix>-0`, `<prefix>-1`, …), `workers` at a time, until `until()`
 * holds or `maxApps` ids were used: a load that lasts as long as a fault does.
 */
export async function allocateUntil(
  baseUrl: string,
  pool: string,
  prefix: string,
  workers: number,
  until: () => boolean,
  maxApps: number,
  onAnswer?: (a: Answer) => void,
): Promise<Answer[]> {
  const answers: Answer[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < maxApps && !until()) {
        const [a] = await allocateAll(baseUrl, pool, [`${prefix}-${next++}`], 1);
        answers.push(a);
        onAnswer?.(a);
      }
    }),
  );
  return answers;
}
