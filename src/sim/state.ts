/**
 * Shared simulator state: one `SimCluster` can back several HTTP nodes (leader + standbys), which
 * is how a leader switch is simulated. Events go out on the cluster's bus; SSE connections on the
 * current leader (and proxying 1.4 standbys) subscribe to it.
 */
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import type { SimEvent } from './events';
import { type AppDefinition, type Flavour, type SimApp, type SimTask, type TaskPlacement, newUuid } from './model';

/** Per-task placement override; tests return a real host/port so berth reaches a real backend. */
export type PlaceTask = (def: AppDefinition, index: number) => Partial<TaskPlacement> | undefined;

export interface ClusterOptions {
  flavour?: Flavour;
  /** Agent hosts tasks are spread over (round robin). Default `['127.0.0.1']`. */
  agents?: string[];
  placeTask?: PlaceTask;
  /** Pause between deployment steps; 0 = one macrotask (fast, still ordered). */
  stepDelayMs?: number;
  /** Tasks of apps with health checks pass their first check automatically. Default true. */
  autoHealthy?: boolean;
}

/** A deployment in progress; `cancelled` is set when a forced change supersedes it. */
export interface RunningDeployment {
  id: string;
  version: string;
  appIds: string[];
  cancelled: boolean;
  done: Promise<void>;
}

/** Gates deployment steps so a test can run a deployment one step at a time. */
class Pacer {
  private paused = false;
  private waiting: (() => void)[] = [];
  constructor(private readonly delayMs: number) {}
  async next(): Promise<void> {
    if (this.paused) await new Promise<void>((r) => this.waiting.push(r));
    else if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    else await new Promise((r) => setImmediate(r));
  }
  pause(): void {
    this.paused = true;
  }
  /** Releases one waiting step; returns false if none was waiting. */
  stepOnce(): boolean {
    const r = this.waiting.shift();
    r?.();
    return r !== undefined;
  }
  pendingSteps(): number {
    return this.waiting.length;
  }
  resume(): void {
    this.paused = false;
    const all = this.waiting.splice(0);
    all.forEach((r) => r());
  }
}

export class SimCluster extends EventEmitter {
  readonly flavour: Flavour;
  readonly apps = new Map<string, SimApp>();
  readonly frameworkId = `${newUuid()}-0000`;
  readonly agents: string[];
  readonly placeTask?: PlaceTask;
  readonly autoHealthy: boolean;
  readonly pacer: Pacer;
  /** Deployments in progress, by id. */
  readonly deployments = new Map<string, RunningDeployment>();
  /** `host:port` of the current leader, or null (no leader elected). */
  leader: string | null = null;
  private nextServicePort = 10000;
  private nextHostPort = 31000;
  private nextIp = 2;
  private agentCursor = 0;

  constructor(opts: ClusterOptions = {}) {
    super();
    this.setMaxListeners(0);
    this.flavour = opts.flavour ?? '1.10';
    this.agents = opts.agents ?? ['127.0.0.1'];
    this.placeTask = opts.placeTask;
    this.autoHealthy = opts.autoHealthy ?? true;
    this.pacer = new Pacer(opts.stepDelayMs ?? 0);
  }

  /** Sends one event to every subscribed stream (and in-process listeners of 'event'). */
  publish(ev: SimEvent): void {
    this.emit('event', ev);
  }

  readonly servicePorts = { next: (): number => this.nextServicePort++ };

  allocHostPort(): number {
    if (this.nextHostPort > 60999) this.nextHostPort = 31000;
    return this.nextHostPort++;
  }

  /** A fresh container address from 10.x (container networks) or 172.17.x (docker bridge). */
  allocIp(bridge: boolean): string {
    const n = this.nextIp++;
    return bridge ? `172.17.${(n >> 8) & 255}.${n & 255}` : `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
  }

  nextAgent(): { host: string; slaveId: string } {
    const i = this.agentCursor++ % this.agents.length;
    return { host: this.agents[i], slaveId: `${this.frameworkId.slice(0, 36)}-S${i}` };
  }

  findTask(taskOrInstanceId: string): { app: SimApp; task: SimTask } | undefined {
    for (const app of this.apps.values()) {
      for (const task of app.tasks.values()) {
        if (task.id === taskOrInstanceId || task.instanceId === taskOrInstanceId) return { app, task };
      }
    }
    return undefined;
  }

  allTasks(): SimTask[] {
    const out: SimTask[] = [];
    for (const app of this.apps.values()) for (const t of app.tasks.values()) out.push(t);
    return out;
  }
}

export function ipAddressOf(ip: string): { ipAddress: string; protocol: 'IPv4' | 'IPv6' } {
  return { ipAddress: ip, protocol: isIP(ip) === 6 ? 'IPv6' : 'IPv4' };
}
