import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EventEmitter } from 'node:events';
import type { Clock } from '../../src/clock';
import type { Endpoint, Service } from '../../src/model/types';
import type { CommandResult, NginxControl, TestTarget } from '../../src/nginx/command';
import { Registry } from 'prom-client';
import { silentLogger } from '../../src/log';
import { InMemoryProblemSink, InMemorySyncRunStore, type SyncRun } from '../../src/nginx/store';
import type { NginxSyncOptions } from '../../src/nginx/sync-options';

export const TEMPLATES_DIR = path.resolve(__dirname, '../../nginx-templates');

/** A service builder: `aService({appId: '/web'}, withEndpoints(anEndpoint(...)))`. */
export function aService(over: Partial<Service> = {}, ...mods: Array<(s: Service) => Service>): Service {
  const name = (over.appId ?? '/web').replace(/^\//, '').replace(/\//g, '-');
  const base: Service = {
    env: 'default',
    appId: '/web',
    domains: [`${name}.berth.internal`],
    proxy: 'http',
    listen: null,
    dns: 'direct',
    portName: null,
    servicePort: 8080,
    fixedIp: null,
    endpoints: [],
    version: '2026-01-01T00:00:00.000Z',
    ...over,
  };
  return mods.reduce((s, m) => m(s), base);
}

export function anEndpoint(address: string, port: number, taskId = `t.${address}.${port}`): Endpoint {
  return { taskId: taskId.replace(/:/g, '-'), address, port, host: 'agent-1' };
}

export const withEndpoints =
  (...eps: Endpoint[]) =>
  (s: Service): Service => ({ ...s, endpoints: eps });

const made: string[] = [];
// Under Jest: remove the folders a test file made once it is done (the bench imports this too).
if (typeof afterAll === 'function') {
  afterAll(() => {
    for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
}

/** A fresh temp folder, removed after the test file. */
export function tmpDir(prefix = 'berth-nginx-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(d);
  return d;
}

/** Manual clock: timers fire only inside `advance()`. */
export class FakeClock implements Clock {
  private t = 1_700_000_000_000;
  private seq = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): { unref?: () => void } {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, fn });
    return { id } as unknown as { unref?: () => void };
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete((handle as { id: number }).id);
  }
  /** Due times of pending timers, relative to now. */
  pending(): number[] {
    return [...this.timers.values()].map((t) => t.at - this.t).sort((a, b) => a - b);
  }
  advance(ms: number): void {
    const target = this.t + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, t]) => t.at <= target).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = due[1].at;
      due[1].fn();
    }
    this.t = target;
  }
}

const ok = (): CommandResult => ({ ok: true, skipped: false, code: 0, signal: null, timedOut: false, output: '', durationMs: 1 });

/** A scripted NginxControl: counts calls; `testImpl` decides whether a test passes. */
export class FakeControl implements NginxControl {
  tests = 0;
  reloads = 0;
  /** Decides a test; `target` is the staging tree when the sync stages (absent: the live folder is under test). */
  testImpl: (target?: TestTarget) => Promise<boolean> | boolean = () => true;
  reloadImpl: () => Promise<boolean> | boolean = () => true;
  async test(target?: TestTarget): Promise<CommandResult> {
    this.tests++;
    const pass = await this.testImpl(target);
    return pass ? ok() : { ...ok(), ok: false, code: 1, output: 'nginx: [emerg] fake failure' };
  }
  async reload(): Promise<CommandResult> {
    this.reloads++;
    const pass = await this.reloadImpl();
    return pass ? ok() : { ...ok(), ok: false, code: 1, output: 'reload failed' };
  }
}

/** An in-memory run store that lets a test wait for the next recorded run. */
export class RecordingStore extends InMemorySyncRunStore {
  readonly events = new EventEmitter();
  readonly all: SyncRun[] = [];
  override async record(run: SyncRun): Promise<SyncRun> {
    const stored = await super.record(run);
    this.all.push(stored);
    this.events.emit('run', stored);
    return stored;
  }
  /** Resolves with the run recorded after this call (bounded). */
  next(timeoutMs = 20000): Promise<SyncRun> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no sync run recorded in time')), timeoutMs);
      this.events.once('run', (r: SyncRun) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
  }
}

/** Polls `cond` until true or the deadline passes (then throws with `what`). */
export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Options of a sync driven without Nginx (a fake control and clock, no test command): the defaults
 * such tests share; `own` brings the folder, the view and the run store, and overrides the rest.
 */
export function fakeSyncOptions(own: Pick<NginxSyncOptions, 'dir' | 'view' | 'store'> & Partial<NginxSyncOptions>): NginxSyncOptions {
  return {
    templatesDir: TEMPLATES_DIR,
    httpListen: '127.0.0.1:8080',
    testCmd: '',
    reloadCmd: 'unused',
    intervalMs: 2000,
    commandTimeoutMs: 1000,
    maxRemovalRatio: 0.5,
    logger: silentLogger,
    metricsRegistry: new Registry(),
    problems: new InMemoryProblemSink(),
    ...own,
  };
}
