/**
 * Builders for Marathon apps, tasks and events (Traefik's builder_test.go style):
 *   anApp({ id: '/web' }, withLabel('berth.domain', 'web.x'), withTasks(aTask({ state: 'TASK_RUNNING' })))
 */
import type { App, HealthCheckResult, MarathonEvent, PortMapping, StatusUpdateEvent, Task, TaskState } from '../../src/marathon/types';

export type AppOption = (app: App) => void;

export const V1 = '2026-01-01T00:00:00.000Z';
export const V2 = '2026-01-02T00:00:00.000Z';

let seq = 0;
/** A deterministic UUID-shaped string (legacy task ids are `<safeAppId>.<uuid>`). */
export function nextUuid(): string {
  seq++;
  return `00000000-0000-4000-8000-${seq.toString(16).padStart(12, '0')}`;
}

/** A host-networked app with one port definition (8080, named `http`), one instance, no tasks. */
export function anApp(base: Partial<App> & { id: string }, ...opts: AppOption[]): App {
  const app: App = {
    instances: 1,
    labels: {},
    portDefinitions: [{ port: 8080, name: 'http', protocol: 'tcp' }],
    version: V1,
    versionInfo: { lastConfigChangeAt: V1, lastScalingAt: V1 },
    tasks: [],
    ...base,
  };
  for (const o of opts) o(app);
  for (const t of app.tasks ?? []) t.appId = app.id;
  for (const t of app.tasks ?? []) if (t.id.startsWith('?')) t.id = `${safeId(app.id)}${t.id.slice(1)}`;
  return app;
}

/** `/team/web` → `team_web` (Marathon's task id prefix). */
export function safeId(appId: string): string {
  return appId.replace(/^\//, '').replace(/\//g, '_');
}

export const withLabel =
  (key: string, value: string): AppOption =>
  (a) => {
    a.labels = { ...(a.labels ?? {}), [key]: value };
  };

export const withLabels =
  (labels: Record<string, string>): AppOption =>
  (a) => {
    a.labels = { ...(a.labels ?? {}), ...labels };
  };

/** berth.domain (+ optional extra labels): the minimum for berth to care. */
export const withDomain = (domain: string, extra: Record<string, string> = {}): AppOption => withLabels({ 'berth.domain': domain, ...extra });

export const withTasks =
  (...tasks: Task[]): AppOption =>
  (a) => {
    a.tasks = [...(a.tasks ?? []), ...tasks];
  };

export const withInstances =
  (n: number): AppOption =>
  (a) => {
    a.instances = n;
  };

export const withVersion =
  (v: string): AppOption =>
  (a) => {
    a.version = v;
  };

export const withHealthChecks = (): AppOption => (a) => {
  a.healthChecks = [{ protocol: 'HTTP', path: '/health', portIndex: 0, intervalSeconds: 10 }];
};

export const withPortDefinitions =
  (...defs: Array<{ port: number; name?: string }>): AppOption =>
  (a) => {
    a.portDefinitions = defs;
  };

/** 1.5+ bridge: `networks: [{mode: container/bridge}]` + `container.portMappings`. */
export const withBridgeMappings =
  (...m: PortMapping[]): AppOption =>
  (a) => {
    a.portDefinitions = [];
    a.networks = [{ mode: 'container/bridge' }];
    a.container = { type: 'DOCKER', docker: { image: 'img' }, portMappings: m };
  };

/** 1.5+ container network (IP-per-task). */
export const withContainerNetwork =
  (name: string, ...m: PortMapping[]): AppOption =>
  (a) => {
    a.portDefinitions = [];
    a.networks = [{ mode: 'container', name }];
    a.container = { type: 'DOCKER', docker: { image: 'img' }, portMappings: m };
  };

/** 1.4 docker `network` + `docker.portMappings`. */
export const withDocker14 =
  (network: 'HOST' | 'BRIDGE' | 'USER', ...m: PortMapping[]): AppOption =>
  (a) => {
    a.portDefinitions = undefined;
    a.container = { type: 'DOCKER', docker: { image: 'img', network, portMappings: m } };
    if (network === 'USER') a.ipAddress = { networkName: 'dcos' };
  };

export const withDockerParam =
  (key: string, value: string): AppOption =>
  (a) => {
    a.container ??= { type: 'DOCKER', docker: { image: 'img' } };
    a.container.docker ??= { image: 'img' };
    a.container.docker.parameters = [...(a.container.docker.parameters ?? []), { key, value }];
  };

/** A running task on 10.0.0.1 with host port 31000; `id` defaults to `<app>.<uuid>` (filled by anApp). */
export function aTask(t: Partial<Task> = {}): Task {
  return {
    id: `?.${nextUuid()}`,
    state: 'TASK_RUNNING',
    host: '10.0.0.1',
    ports: [31000],
    ipAddresses: [{ ipAddress: '172.17.0.2', protocol: 'IPv4' }],
    stagedAt: V1,
    startedAt: V1,
    version: V1,
    ...t,
  };
}

export const healthy = (): HealthCheckResult => ({ alive: true, consecutiveFailures: 0, lastSuccess: V1 });
export const unhealthy = (): HealthCheckResult => ({ alive: false, consecutiveFailures: 3, lastFailure: V1 });

/** A `status_update_event` for a task of `app`. */
export function aStatus(appId: string, taskId: string, taskStatus: TaskState, extra: Partial<StatusUpdateEvent> = {}): StatusUpdateEvent {
  return {
    eventType: 'status_update_event',
    slaveId: 'agent-S0',
    taskId,
    taskStatus,
    message: '',
    appId,
    host: '10.0.0.1',
    ipAddresses: [{ ipAddress: '172.17.0.2', protocol: 'IPv4' }],
    ports: [31000],
    version: V1,
    timestamp: V1,
    ...extra,
  };
}

/** `health_status_changed_event` for a legacy (1.4–1.7) task id. */
export function aHealthChange(appId: string, taskId: string, alive: boolean): MarathonEvent {
  const [prefix, uuid] = [taskId.slice(0, taskId.lastIndexOf('.')), taskId.slice(taskId.lastIndexOf('.') + 1)];
  return { eventType: 'health_status_changed_event', appId, instanceId: `${prefix}.marathon-${uuid}`, version: V1, alive, timestamp: V1 };
}

/** Task ids of an app built by `anApp`. */
export function taskIds(app: App): string[] {
  return (app.tasks ?? []).map((t) => t.id);
}
