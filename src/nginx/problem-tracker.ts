import type { Logger } from '../log';
import { PROBLEM_CODES, problem, problemKey } from '../model/problems';
import type { Problem } from '../model/types';
import type { RenderRejection } from './rendered-file';
import type { ProblemSink } from './store';

/** What an operator reads for a quarantined service: that the failure was confirmed, and when it is tried again. */
const rejectedMessage = (e: { failures?: number; retryAt?: string }): string =>
  `Nginx rejected the generated config (the test command failed, and again when run a second time); the previous config is kept. ` +
  (e.retryAt
    ? `Rejected ${e.failures ?? 1} time(s) in a row; next retry at ${e.retryAt}, or at once when the app definition changes`
    : 'Tried again when the app definition changes');

type Excluded = { env: string; appId: string; failures?: number; retryAt?: string };

/** The Nginx problems of one run: services not rendered, and services the test command rejected. */
function nginxProblems(rejected: readonly RenderRejection[], excluded: readonly Excluded[], notes: readonly Problem[]): Map<string, Problem> {
  const current = new Map<string, Problem>();
  // Problems of services that are still rendered (TLS certificates); a rejection of the same app and code wins.
  for (const n of notes) current.set(problemKey(n), n);
  for (const r of rejected) current.set(problemKey(r), problem(r.code, r.appId, r.env, r.message));
  for (const e of excluded) {
    const p = problem(PROBLEM_CODES.NGINX_CONFIG_REJECTED, e.appId, e.env, rejectedMessage(e));
    current.set(problemKey(p), p);
  }
  return current;
}

/**
 * Keeps the sink in step with the sync: the whole set is replaced when it changed (and once on
 * start, so problems a previous process left are cleared); each problem raised or cleared is logged
 * once. A failed replace is retried with the next run.
 */
export class ProblemTracker {
  private raised = new Map<string, Problem>();
  private replacedOnce = false;

  constructor(
    private readonly sink: ProblemSink,
    private readonly logger: Logger,
  ) {}

  async update(rejected: readonly RenderRejection[], excluded: readonly Excluded[], notes: readonly Problem[] = []): Promise<void> {
    const current = nginxProblems(rejected, excluded, notes);
    const same =
      current.size === this.raised.size && [...current].every(([k, p]) => this.raised.get(k)?.message === p.message && this.raised.get(k)?.env === p.env);
    if (same && this.replacedOnce) return;
    try {
      await this.sink.replace([...current.values()]);
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'could not update nginx problems; will retry');
      return;
    }
    for (const [k, p] of current)
      if (!this.raised.has(k)) this.logger.warn({ code: p.code, appId: p.appId, env: p.env, reason: p.message }, 'nginx problem raised');
    for (const [k, p] of this.raised) if (!current.has(k)) this.logger.info({ code: p.code, appId: p.appId, env: p.env }, 'nginx problem cleared');
    this.raised = current;
    this.replacedOnce = true;
  }
}
