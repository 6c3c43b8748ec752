/**
 * Light churn, so the demo looks like a platform people deploy to: every few seconds one change
 * (a rolling deploy, a scale up or down, a health check flapping). One change at a time, each
 * awaited before the next is scheduled, so it never piles up; `stop()` waits for the one in flight.
 * Changes keep at least one serving task per service, so the panel's commands keep working.
 */
import type { Logger } from '../log';
import type { Simulator } from '../sim';
import type { SeededApp } from './seed';

export interface Churn {
  /** Changes made so far. */
  count(): number;
  stop(): Promise<void>;
}

type Step = { what: string; run: () => Promise<void> };

function steps(sim: Simulator, apps: SeededApp[]): Step[] {
  const byId = new Map(apps.map((a) => [a.id, a]));
  const opts = (id: string) => ({ placeTask: byId.get(id)?.place });
  const out: Step[] = [];
  if (byId.has('/integration/api')) {
    out.push({ what: 'scale /integration/api to 3', run: () => sim.control.scale('/integration/api', 3, opts('/integration/api')) });
  }
  if (byId.has('/integration/web')) {
    // One task of two fails its check and recovers on the next step: it leaves DNS and Nginx, then returns.
    let flapped: string | undefined;
    out.push({
      what: 'health check of one /integration/web task fails',
      run: async () => {
        const t = sim.control.tasks('/integration/web').find((x) => x.state === 'TASK_RUNNING');
        if (t) sim.control.setHealth((flapped = t.id), false);
      },
    });
    out.push({
      what: 'that /integration/web task is healthy again',
      run: async () => {
        if (flapped && sim.control.tasks('/integration/web').some((x) => x.id === flapped)) sim.control.setHealth(flapped, true);
        flapped = undefined;
      },
    });
  }
  if (byId.has('/integration/orders')) {
    // A new version: rolling restart (new task first, then the old one is killed).
    out.push({
      what: 'deploy a new version of /integration/orders',
      run: () => sim.control.update('/integration/orders', { env: { RELEASE: new Date().toISOString() } }, opts('/integration/orders')),
    });
  }
  if (byId.has('/integration/api')) {
    out.push({ what: 'scale /integration/api back to 2', run: () => sim.control.scale('/integration/api', 2, opts('/integration/api')) });
  }
  if (byId.has('/func-a/web')) {
    out.push({ what: 'restart /func-a/web', run: () => sim.control.restart('/func-a/web', opts('/func-a/web')) });
  }
  return out;
}

/** Starts the churn; one step every `intervalMs`, round robin over the steps above. */
export function startChurn(sim: Simulator, apps: SeededApp[], intervalMs: number, logger: Logger): Churn {
  const plan = steps(sim, apps);
  let stopped = false;
  let done = 0;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  const schedule = () => {
    if (stopped || plan.length === 0) return;
    timer = setTimeout(() => {
      const step = plan[done % plan.length];
      inFlight = step
        .run()
        .then(() => logger.info({ change: step.what }, 'demo churn'))
        // A failed change (app removed meanwhile, deployment cancelled) is logged; churn goes on.
        .catch((err: Error) => logger.warn({ change: step.what, err: err.message }, 'demo churn step failed'))
        .finally(() => {
          done++;
          schedule();
        });
    }, intervalMs);
  };
  schedule();
  return {
    count: () => done,
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await inFlight;
    },
  };
}
