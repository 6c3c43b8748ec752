/**
 * Where a run's changes are tested: the staging tree, with a candidate nginx.conf written afresh
 * for each test, or the live folder when the test command does not look at a candidate. Also the
 * complete file set a staged test rebuilds from when the live files fail on their own.
 */
import path from 'node:path';
import { inPlaceWorkspace, stagedWorkspace, type Workspace } from './apply';
import { writeCandidateConf } from './candidate-conf';
import type { FileBytes, FileChange } from './plan';
import type { RenderedFile } from './rendered-file';
import { CANDIDATE_CONF_NAME, type Staging } from './staging';
import type { NginxSyncOptions } from './sync-options';

export class RunWorkspaces {
  private warnedNoInclude = false;

  constructor(
    private readonly opts: Pick<NginxSyncOptions, 'dir' | 'mainConf' | 'logger'>,
    /** Null when the test command does not look at the candidate. */
    private readonly staging: Staging | null,
  ) {}

  /** Where this run's changes are tested: the staging tree (with a fresh candidate conf), or the live folder. */
  async forRun(files: readonly RenderedFile[], disk: ReadonlyMap<string, FileBytes>, changes: readonly FileChange[]): Promise<Workspace> {
    if (!this.staging) return inPlaceWorkspace(this.opts.dir);
    let conf: string | null = null;
    if (this.opts.mainConf) {
      conf = path.join(this.opts.dir, CANDIDATE_CONF_NAME);
      const { staged } = await writeCandidateConf(this.opts.mainConf, this.opts.dir, this.staging.root, conf);
      if (staged === 0 && !this.warnedNoInclude) {
        this.warnedNoInclude = true;
        this.opts.logger.warn(
          { mainConf: this.opts.mainConf, dir: this.opts.dir },
          'BERTH_NGINX_MAIN_CONF has no include of BERTH_NGINX_DIR: the test cannot see berth files',
        );
      }
    }
    return stagedWorkspace(this.staging, conf, () => desiredSet(files, disk, changes));
  }
}

/**
 * The complete set of managed files after `changes` (content from the rendering, or the live bytes
 * for a file the plan leaves as it is), for rebuilding when the live files fail on their own.
 */
function desiredSet(
  files: readonly RenderedFile[],
  disk: ReadonlyMap<string, FileBytes>,
  changes: readonly FileChange[],
): { desired: FileChange[]; live: string[] } {
  const after = new Map<string, FileChange>();
  const rendered = new Map(files.map((f) => [f.path, f]));
  for (const [p, bytes] of disk) {
    const f = rendered.get(p);
    const content = typeof bytes === 'string' ? bytes : bytes.toString('utf8');
    const who = f ?? { env: p.split('/')[0], appId: p, definitionKey: null };
    after.set(p, {
      path: p,
      env: who.env,
      appId: who.appId,
      content,
      before: null,
      serversBefore: 0,
      serversAfter: 0,
      definitionKey: f ? f.definitionKey : null,
    });
  }
  for (const c of changes) {
    if (c.content === null) after.delete(c.path);
    else after.set(c.path, { ...c, before: null });
  }
  return { desired: [...after.values()], live: [...disk.keys()] };
}
