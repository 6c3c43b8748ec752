import fs from 'node:fs/promises';
import path from 'node:path';
import type { Service } from '../model/types';
import { GenerationHasher } from './generation';
import { HTTP_CONF_PATH, renderHttpConf, type HttpConfExtras } from './http-conf';
import type { FileBytes } from './plan';
import { loopTurn, SLICE_MS } from '../slices';
import type { RenderedFile } from './rendered-file';
import { NameCensus } from './name-census';

/** One file as Nginx will see it after a sync. */
export interface FinalFile {
  path: string;
  bytes: FileBytes;
  /** The previous file kept for a rejected service (not rendered from the current definition). */
  kept?: boolean;
}

const SERVER_NAME = /^\s*server_name\s+([^;]*);/gm;

/**
 * The managed files after applying a plan: the rendered ones (in render order, which is
 * deterministic), except kept paths, which keep their disk bytes (sorted by path).
 */
export function finalFiles(files: readonly RenderedFile[], keep: ReadonlySet<string>, disk: ReadonlyMap<string, FileBytes>): FinalFile[] {
  const out: FinalFile[] = [];
  for (const f of files) if (!keep.has(f.path)) out.push({ path: f.path, bytes: f.content });
  for (const p of [...keep].sort()) {
    const bytes = disk.get(p);
    if (bytes !== undefined) out.push({ path: p, bytes, kept: true });
  }
  return out;
}

/**
 * berth's http.conf (see http-conf.ts) as one more file of the sync: what it should hold for the
 * files about to be applied and what is on disk. It is not a service file: it never goes through
 * the removal guard or the bisection; the sync hands it to applyChanges as a base file (staged
 * and tested with the service files, part of the base every subset is tested on, promoted with them).
 */
export class HttpContext {
  private onDisk: { text: string | null } | null = null;
  private readonly hasher = new GenerationHasher();
  private readonly census = new NameCensus();

  constructor(
    private readonly dir: string,
    private readonly adminListen: string,
    private readonly extras?: HttpConfExtras,
  ) {}

  /** http.conf for these final files, and its generation id. */
  desired(services: readonly Service[], final: readonly FinalFile[]): { content: string; generation: string } {
    // The names of every http service, whether or not its file ships this run: cheaper than
    // matching services to files, and only the longest name and the count matter, in powers of
    // two, so a service held back rarely changes http.conf.
    const extra: string[] = [];
    // A kept file may still carry the names of an older definition.
    for (const f of final)
      if (f.kept && f.path.includes('/http/'))
        for (const m of f.bytes.toString().matchAll(SERVER_NAME)) for (const n of m[1].split(/\s+/)) if (n) extra.push(n);
    const base = { sizes: this.census.sizes(services, extra), adminListen: this.adminListen, extras: this.extras };
    const generation = this.hasher.compute(final, renderHttpConf({ ...base, generation: '' }));
    return { content: renderHttpConf({ ...base, generation }), generation };
  }

  /** Does the expensive part of `desired` for these services and files ahead, without holding the event loop (see GenerationHasher.prepare). */
  async prepare(services: readonly Service[], final: readonly FinalFile[]): Promise<void> {
    await this.census.prepare(services);
    await this.hasher.prepare(final, loopTurn, SLICE_MS);
  }

  /** http.conf on disk (null: absent); read once, then what berth wrote. */
  async current(): Promise<string | null> {
    if (!this.onDisk) {
      const text = await fs.readFile(path.join(this.dir, HTTP_CONF_PATH), 'utf8').catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return null;
        throw err;
      });
      this.onDisk = { text };
    }
    return this.onDisk.text;
  }

  /** http.conf was made live with this content (through staging, or in place). */
  written(content: string | null): void {
    this.onDisk = { text: content };
  }

  /** What is on disk is uncertain (an interrupted apply, a hand edit): read it again next time. */
  forget(): void {
    this.onDisk = null;
  }
}
