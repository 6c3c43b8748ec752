/**
 * The simulator's internal state model. Flavour-neutral: the canonical app definition is kept in
 * the Marathon 1.5+ shape (`networks`, `container.portMappings`); serializers turn it into 1.4 or
 * 1.10 wire JSON.
 */
import { randomUUID } from 'node:crypto';

/** Which Marathon generation the simulator imitates (JSON fields, ids, health quirks, standby). */
export type Flavour = '1.4' | '1.10';

export type TaskState =
  | 'TASK_STAGING'
  | 'TASK_STARTING'
  | 'TASK_RUNNING'
  | 'TASK_KILLING'
  | 'TASK_KILLED'
  | 'TASK_FINISHED'
  | 'TASK_FAILED'
  | 'TASK_ERROR'
  | 'TASK_LOST'
  | 'TASK_UNREACHABLE'
  | 'TASK_GONE'
  | 'TASK_DROPPED'
  | 'TASK_UNKNOWN'
  | 'TASK_GONE_BY_OPERATOR';

export const TERMINAL_STATES: ReadonlySet<TaskState> = new Set<TaskState>([
  'TASK_KILLED',
  'TASK_FINISHED',
  'TASK_FAILED',
  'TASK_ERROR',
  'TASK_DROPPED',
  'TASK_GONE',
  'TASK_GONE_BY_OPERATOR',
]);

/** Mesos task state → Marathon instance condition (instance_changed_event.condition). */
export const CONDITION: Record<TaskState, string> = {
  TASK_STAGING: 'Staging',
  TASK_STARTING: 'Starting',
  TASK_RUNNING: 'Running',
  TASK_KILLING: 'Killing',
  TASK_KILLED: 'Killed',
  TASK_FINISHED: 'Finished',
  TASK_FAILED: 'Failed',
  TASK_ERROR: 'Error',
  TASK_LOST: 'Unreachable',
  TASK_UNREACHABLE: 'Unreachable',
  TASK_GONE: 'Gone',
  TASK_DROPPED: 'Dropped',
  TASK_UNKNOWN: 'Unknown',
  TASK_GONE_BY_OPERATOR: 'Gone',
};

export interface IpAddress {
  ipAddress: string;
  protocol: 'IPv4' | 'IPv6';
}

/** Marathon-side health result of one task; absent (null on the task) = no result yet. */
export interface HealthResult {
  alive: boolean;
  consecutiveFailures: number;
  firstSuccess: string | null;
  lastSuccess: string | null;
  lastFailure: string | null;
  lastFailureCause: string | null;
}

/** Where a task runs. Tests set these to reach real backends (host 127.0.0.1 + a listening port). */
export interface TaskPlacement {
  host: string;
  ports: number[];
  ipAddresses: IpAddress[];
  slaveId: string;
}

export interface SimTask extends TaskPlacement {
  /** uuid shared by task id and instance id. */
  uuid: string;
  id: string;
  instanceId: string;
  appId: string;
  state: TaskState;
  message: string;
  stagedAt: string;
  startedAt: string | null;
  version: string;
  incarnation: number;
  health: HealthResult | null;
  /**
   * The running deployment's readiness verdict for this task (apps with `readinessChecks`); null:
   * no result (no checks, or the deployment that ran them is over: Marathon drops them then).
   */
  ready: boolean | null;
}

/** Canonical (1.5+ shaped) app definition, defaults filled in. */
export type AppDefinition = Record<string, unknown> & { id: string; instances: number; version: string };

export interface SimApp {
  def: AppDefinition;
  tasks: Map<string, SimTask>;
  /** Ids of deployments currently touching this app. */
  deployments: Set<string>;
  versionInfo: { lastScalingAt: string; lastConfigChangeAt: string };
}

/** `/team/web` → `team_web` (Marathon's "safe" path id used in task ids). */
export function safeId(appId: string): string {
  return appId.replace(/^\//, '').replace(/\//g, '_');
}

/** Builds task and instance ids the way each flavour does (docs/marathon.md "Ids"). */
export function taskIds(flavour: Flavour, appId: string, uuid: string, incarnation: number): { id: string; instanceId: string } {
  const safe = safeId(appId);
  if (flavour === '1.4') return { id: `${safe}.${uuid}`, instanceId: `${safe}.marathon-${uuid}` };
  return { id: `${safe}.instance-${uuid}._app.${incarnation}`, instanceId: `${safe}.instance-${uuid}` };
}

export function newUuid(): string {
  return randomUUID();
}

/** Marathon timestamps: ISO-8601 UTC with milliseconds. */
export function isoNow(): string {
  return new Date().toISOString();
}

/** Absolute, normalised app id: leading slash, no trailing slash. */
export function canonicalAppId(id: string): string {
  const trimmed = id.replace(/\/+$/, '');
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

export function isActive(t: SimTask): boolean {
  return !TERMINAL_STATES.has(t.state);
}
