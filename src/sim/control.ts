/**
 * The simulator's control interface: drive deployments, task states and health, inject faults,
 * switch leaders, seed bulk state. In-process here; over HTTP under `/_sim/` in control-http.ts.
 */
import { type DeployOptions, createApp, deleteApp, restartApp, scaleApp, updateApp } from './deploy';
import { type SimEvent, unhealthyInstanceKillEvent } from './events';
import type { Fault } from './faults';
import { type SimApp, type SimTask, type TaskState, canonicalAppId, newUuid } from './model';
import type { SimAuth, SimNode } from './node';
import { type PumpOptions, type SeedOptions, pump, seed } from './seed';
import type { SimCluster } from './state';
import { newTask, setHealth, setReady, setTaskState, wipeHealth } from './tasks';
import { validateApp } from './validate';

type Json = Record<string, unknown>;

/** Thrown by control calls given an invalid definition (the same rules as `POST /v2/apps`). */
export class SimValidationError extends Error {
  constructor(readonly details: unknown) {
    super(`invalid app definition: ${JSON.stringify(details)}`);
  }
}

/** Test-facing handle on one simulator node (faults, auth, counts, streams are per node). */
export class SimControl {
  constructor(
    readonly cluster: SimCluster,
    readonly node: SimNode,
  ) {}

  private app(id: string): SimApp {
    const app = this.cluster.apps.get(canonicalAppId(id));
    if (!app) throw new Error(`App '${id}' does not exist`);
    return app;
  }

  private task(id: string): { app: SimApp; task: SimTask } {
    const found = this.cluster.findTask(id);
    if (!found) throw new Error(`Task '${id}' does not exist`);
    return found;
  }

  /** Creates an app like `POST /v2/apps` and resolves at deployment_success, with its tasks. */
  async deploy(def: Json, opts: DeployOptions = {}): Promise<SimTask[]> {
    const violations = validateApp(def, this.cluster.flavour);
    if (violations.length) throw new SimValidationError(violations);
    const { app, deployment } = createApp(this.cluster, def, opts);
    await deployment.done;
    return [...app.tasks.values()];
  }

  /** Changes an app like `PUT /v2/apps/:id`; resolves at deployment_success. */
  async update(id: string, change: Json, opts: DeployOptions = {}): Promise<void> {
    await updateApp(this.cluster, id, change, opts).done;
  }

  async scale(id: string, instances: number, opts: DeployOptions = {}): Promise<void> {
    await scaleApp(this.cluster, id, instances, opts).done;
  }

  async restart(id: string, opts: DeployOptions = {}): Promise<void> {
    await restartApp(this.cluster, id, opts).done;
  }

  async remove(id: string): Promise<void> {
    await deleteApp(this.cluster, id).done;
  }

  /** Live task objects (read them; change them through the methods below). */
  tasks(appId?: string): SimTask[] {
    if (appId) return [...this.app(appId).tasks.values()];
    return this.cluster.allTasks();
  }

  apps(): string[] {
    return [...this.cluster.apps.keys()];
  }

  /** One health check result for a task (by task or instance id). */
  setHealth(taskId: string, alive: boolean): void {
    const { app, task } = this.task(taskId);
    setHealth(this.cluster, app, task, alive);
  }

  /** The running deployment's readiness verdict for a task (apps with readiness checks); Marathon emits no event for it. */
  setReady(taskId: string, ready = true): void {
    const { task } = this.task(taskId);
    setReady(this.cluster, task, ready);
  }

  setTaskState(taskId: string, state: TaskState, message = ''): void {
    const { app, task } = this.task(taskId);
    setTaskState(this.cluster, app, task, state, message);
  }

  /**
   * The task fails and Marathon relaunches it: a new task id, same instance in 1.10
   * (incarnation + 1), a new instance in 1.4. Resolves when the replacement runs.
   */
  async failTask(taskId: string): Promise<SimTask> {
    const { app, task } = this.task(taskId);
    setTaskState(this.cluster, app, task, 'TASK_FAILED', 'Command exited with status 1');
    await this.cluster.pacer.next();
    const keep = this.cluster.flavour === '1.10';
    const next = newTask(this.cluster, app, 0, undefined, keep ? task.uuid : newUuid(), keep ? task.incarnation + 1 : 1);
    app.tasks.set(next.id, next);
    for (const s of ['TASK_STAGING', 'TASK_STARTING', 'TASK_RUNNING'] as const) {
      setTaskState(this.cluster, app, next, s);
      await this.cluster.pacer.next();
    }
    return next;
  }

  /**
   * What Marathon does after `maxConsecutiveFailures` failed checks: unhealthy_instance_kill_event,
   * KILLING → KILLED, and a replacement task (new instance) that runs and passes its first check.
   */
  async killUnhealthy(taskId: string): Promise<SimTask> {
    const { app, task } = this.task(taskId);
    this.cluster.publish(unhealthyInstanceKillEvent(task, 'HealthCheckFailed'));
    setTaskState(this.cluster, app, task, 'TASK_KILLING');
    await this.cluster.pacer.next();
    setTaskState(this.cluster, app, task, 'TASK_KILLED', 'Container exited with status 137');
    const next = newTask(this.cluster, app, 0);
    app.tasks.set(next.id, next);
    for (const s of ['TASK_STAGING', 'TASK_STARTING', 'TASK_RUNNING'] as const) {
      setTaskState(this.cluster, app, next, s);
      await this.cluster.pacer.next();
    }
    if (this.cluster.autoHealthy) setHealth(this.cluster, app, next, true);
    return next;
  }

  /** Publishes an event on every stream (any shape: tests use it for unknown types). */
  publish(ev: SimEvent): void {
    this.cluster.publish(ev);
  }

  /** Writes bytes as they are to every stream (malformed JSON, partial frames). */
  publishRaw(bytes: string): void {
    this.cluster.emit('raw', bytes);
  }

  /** In-process listener for every event the cluster publishes. */
  onEvent(fn: (ev: SimEvent) => void): () => void {
    this.cluster.on('event', fn);
    return () => this.cluster.off('event', fn);
  }

  /** Closes every open stream on this node; returns how many. */
  cutStreams(): number {
    return this.node.hub.cutAll();
  }

  /** Stops all writes (events and keepalives) on this node's streams, sockets kept open. */
  stallStreams(on = true): void {
    this.node.hub.stalled = on;
  }

  /** Leader "not ready": streams get 200 and are closed at once. */
  setNotReady(on = true): void {
    this.node.hub.notReady = on;
  }

  streamCount(): number {
    return this.node.hub.count();
  }

  fault(f: Fault): () => void {
    return this.node.faults.add(f);
  }
  clearFaults(): void {
    this.node.faults.clear();
  }

  /** Requires Basic or DC/OS token auth on every path of this node (undefined: none). */
  requireAuth(auth: SimAuth | undefined): void {
    this.node.auth = auth;
  }

  /** Requests this node saw for `METHOD /path`, e.g. `GET /v2/apps` (full app-list fetches). */
  requestCount(key: string): number {
    return this.node.counts.get(key) ?? 0;
  }
  counts(): Record<string, number> {
    return Object.fromEntries(this.node.counts);
  }
  resetCounts(): void {
    this.node.counts.clear();
  }

  /** Makes this node the leader: health results wiped, every stream on every node closed. */
  becomeLeader(): void {
    switchLeader(this.cluster, this.node.self);
  }

  /** No leader elected (REST answers 503/502, streams closed). */
  loseLeader(): void {
    switchLeader(this.cluster, null);
  }

  wipeHealth(): void {
    wipeHealth(this.cluster);
  }

  seed(opts: SeedOptions): { apps: number; tasks: number } {
    return seed(this.cluster, opts);
  }
  pump(opts: PumpOptions): { stop: () => void; done: Promise<number> } {
    return pump(this.cluster, opts);
  }

  /** Step-by-step deployments: pause, then step() releases one step (returns false if none waits). */
  pause(): void {
    this.cluster.pacer.pause();
  }
  step(): boolean {
    return this.cluster.pacer.stepOnce();
  }
  pendingSteps(): number {
    return this.cluster.pacer.pendingSteps();
  }
  resume(): void {
    this.cluster.pacer.resume();
  }
}

/** Moves leadership (Marathon keeps health results in memory only, so they are lost). */
export function switchLeader(c: SimCluster, self: string | null): void {
  c.leader = self;
  wipeHealth(c);
  c.emit('leader-changed', self);
}
