import type { Logger } from '../log';
import type { Problem } from '../model/types';
import type { RenderRejection } from './render';
import type { ProblemSink } from './store';

/** Problem code for a service whose rendered file made the Nginx test command fail. */
export const NGINX_REJECTED = 'nginx_config_rejected';

/**
 * Keeps the ProblemSink in step with the sync: raises a problem once when a service starts being
 * rejected (or its reason changes) and clears it once it renders and passes again or disappears.
 */
export class ProblemTracker {
  private readonly raised = new Map<string, Problem>();
  private replacedOnce = false;

  constructor(
    private readonly sink: ProblemSink,
    private readonly logger: Logger,
  ) {}

  async update(rejected: readonly RenderRejection[], excluded: ReadonlyArray<{ env: string; appId: string }>): Promise<void> {
    const current = new Map<string, Problem>();
    for (const r of rejected) current.set(`${r.code} ${r.appId}`, { code: r.code, appId: r.appId, env: r.env, message: r.message });
    for (const e of excluded) {
      const message = 'Nginx rejected the generated config (test command failed); the previous config is kept until the app definition changes';
      current.set(`${NGINX_REJECTED} ${e.appId}`, { code: NGINX_REJECTED, appId: e.appId, env: e.env, message });
    }
    if (this.sink.replaceAll) {
      await this.replaceAll(current);
      return;
    }
    for (const [key, p] of current) {
      const before = this.raised.get(key);
      if (before && before.message === p.message && before.env === p.env) continue;
      try {
        await this.sink.raise(p);
        this.raised.set(key, p);
        this.logger.warn({ code: p.code, appId: p.appId, env: p.env, reason: p.message }, 'nginx problem raised');
      } catch (err) {
        this.logger.warn({ err: (err as Error).message, appId: p.appId }, 'could not raise nginx problem; will retry');
      }
    }
    for (const [key, p] of this.raised) {
      if (current.has(key)) continue;
      try {
        await this.sink.clear(p.code, p.appId);
        this.raised.delete(key);
        this.logger.info({ code: p.code, appId: p.appId, env: p.env }, 'nginx problem cleared');
      } catch (err) {
        this.logger.warn({ err: (err as Error).message, appId: p.appId }, 'could not clear nginx problem; will retry');
      }
    }
  }

  private async replaceAll(current: Map<string, Problem>): Promise<void> {
    const same = current.size === this.raised.size && [...current].every(([k, p]) => this.raised.get(k)?.message === p.message && this.raised.get(k)?.env === p.env);
    if (same && this.replacedOnce) return;
    try {
      await this.sink.replaceAll!([...current.values()]);
      for (const [k, p] of current) if (!this.raised.has(k)) this.logger.warn({ code: p.code, appId: p.appId, env: p.env, reason: p.message }, 'nginx problem raised');
      for (const [k, p] of this.raised) if (!current.has(k)) this.logger.info({ code: p.code, appId: p.appId, env: p.env }, 'nginx problem cleared');
      this.raised.clear();
      for (const [k, p] of current) this.raised.set(k, p);
      this.replacedOnce = true;
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'could not update nginx problems; will retry');
    }
  }
}
