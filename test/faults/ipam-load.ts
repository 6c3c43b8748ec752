/** Allocation load for the database fault tests: N apps, C workers, every answer kept. */
export interface Answer { appId: string; status: number; ip?: string; code?: string; at: number }

/** POSTs an allocation for each app id, `workers` at a time; `onAnswer` sees each answer as it comes. */
export async function allocateAll(baseUrl: string, pool: string, appIds: string[], workers: number, onAnswer?: (a: Answer) => void): Promise<Answer[]> {
  const answers: Answer[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < appIds.length) {
        const appId = appIds[next++];
        let a: Answer;
        try {
          const r = await fetch(`${baseUrl}/v1/pools/${pool}/allocations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ appId }) });
          const body = (await r.json().catch(() => ({}))) as { ip?: string; code?: string };
          a = { appId, status: r.status, ip: body.ip, code: body.code, at: Date.now() };
        } catch {
          a = { appId, status: 0, at: Date.now() }; // connection refused/reset (berth killed)
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
