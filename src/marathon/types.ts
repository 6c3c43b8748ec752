/**
 * Marathon wire types (REST `/v2/apps` and the `/v2/events` SSE bus), Marathon 1.4–1.10.
 * Types only. Everything Marathon may leave out (1.4 omits empty arrays and `None` options; 1.6+ writes
 * `[]`) is optional here, so readers must not assume presence. See docs/marathon.md.
 */

/** Mesos task states as Marathon reports them (events carry the raw Mesos enum, tasks a derived one). */
export type TaskState =
  | 'TASK_STAGING'
  | 'TASK_STARTING'
  | 'TASK_RUNNING'
  | 'TASK_KILLING'
  | 'TASK_FINISHED'
  | 'TASK_FAILED'
  | 'TASK_KILLED'
  | 'TASK_ERROR'
  | 'TASK_LOST'
  | 'TASK_DROPPED'
  | 'TASK_UNREACHABLE'
  | 'TASK_GONE'
  | 'TASK_GONE_BY_OPERATOR'
  | 'TASK_UNKNOWN';

/** `{ipAddress, protocol}`: the only two keys Marathon writes (`Formats.ipAddressFormat`). */
export interface IpAddress {
  ipAddress: string;
  protocol: 'IPv4' | 'IPv6';
}

/** `healthCheckResults[]` on a task. 1.6+ writes `instanceId` as the string `"instance [<id>]"`. */
export interface HealthCheckResult {
  alive: boolean;
  consecutiveFailures?: number;
  firstSuccess?: string | null;
  lastFailure?: string | null;
  lastSuccess?: string | null;
  lastFailureCause?: string | null;
  instanceId?: string;
  /** Pre-1.4 only. */
  taskId?: string;
}

/** A task as embedded in `apps[].tasks`. */
export interface Task {
  id: string;
  appId?: string;
  host?: string;
  slaveId?: string;
  /** Host ports; absent for inactive tasks in 1.4/1.5. */
  ports?: number[];
  servicePorts?: number[];
  /** 1.4/1.5: absent when empty; 1.6+: `[]`. */
  ipAddresses?: IpAddress[];
  state: TaskState;
  healthCheckResults?: HealthCheckResult[];
  startedAt?: string | null;
  stagedAt?: string | null;
  version?: string;
  region?: string;
  zone?: string;
  role?: string;
}

export interface PortMapping {
  containerPort?: number;
  hostPort?: number;
  servicePort?: number;
  protocol?: string;
  name?: string;
  labels?: Record<string, string>;
  /** 1.5+: which networks this mapping applies to. */
  networkNames?: string[];
}

export interface PortDefinition {
  port?: number;
  protocol?: string;
  name?: string;
  labels?: Record<string, string>;
}

export interface DockerParameter {
  key: string;
  value: string;
}

export interface DockerContainer {
  image?: string;
  /** 1.4 only (removed in 1.5). */
  network?: 'HOST' | 'BRIDGE' | 'USER' | 'NONE';
  /** 1.4 only; 1.5+ uses `container.portMappings`. */
  portMappings?: PortMapping[] | null;
  privileged?: boolean;
  parameters?: DockerParameter[];
  forcePullImage?: boolean;
}

export interface Container {
  type?: 'DOCKER' | 'MESOS' | string;
  docker?: DockerContainer;
  /** 1.5+. */
  portMappings?: PortMapping[] | null;
  volumes?: unknown[];
}

/** 1.4 IP-per-task settings (`ipAddress` on the app). */
export interface AppIpAddress {
  groups?: string[];
  labels?: Record<string, string>;
  discovery?: { ports?: Array<{ number: number; name?: string; protocol?: string; labels?: Record<string, string> }> };
  networkName?: string;
}

/** 1.5+ `networks[]` entry. */
export interface Network {
  mode: 'host' | 'container/bridge' | 'container';
  name?: string;
  labels?: Record<string, string>;
}

export interface HealthCheck {
  protocol?: 'HTTP' | 'HTTPS' | 'TCP' | 'COMMAND' | 'MESOS_HTTP' | 'MESOS_HTTPS' | 'MESOS_TCP' | string;
  path?: string;
  portIndex?: number;
  port?: number;
  gracePeriodSeconds?: number;
  intervalSeconds?: number;
  timeoutSeconds?: number;
  maxConsecutiveFailures?: number;
  ignoreHttp1xx?: boolean;
  delaySeconds?: number;
  ipProtocol?: string;
  command?: { value: string };
}

/**
 * An app from `GET /v2/apps` / `GET /v2/apps/{id}` (1.4 and 1.5+ shapes together). What
 * MarathonClient returns carries only the fields project.ts keeps; events carry the whole definition.
 */
export interface App {
  id: string;
  cmd?: string | null;
  args?: string[] | null;
  instances?: number;
  cpus?: number;
  mem?: number;
  env?: Record<string, unknown>;
  labels?: Record<string, string>;
  container?: Container | null;
  /** 1.4: only when `ipAddress` is empty. */
  ports?: number[];
  portDefinitions?: PortDefinition[];
  requirePorts?: boolean;
  /** 1.4 only. */
  ipAddress?: AppIpAddress | null;
  /** 1.5+. */
  networks?: Network[];
  healthChecks?: HealthCheck[];
  version?: string;
  versionInfo?: { lastScalingAt?: string; lastConfigChangeAt?: string };
  tasks?: Task[];
  tasksStaged?: number;
  tasksRunning?: number;
  tasksHealthy?: number;
  tasksUnhealthy?: number;
  deployments?: Array<{ id: string }>;
  /** Readiness checks (berth reads only whether there are any). */
  readinessChecks?: Array<{ name?: string }>;
  /**
   * `embed=apps.readiness`: results of the running deployment's readiness checks, one per task and
   * check. Marathon drops them when the deployment ends.
   */
  readinessCheckResults?: ReadinessCheckResult[];
}

export interface ReadinessCheckResult {
  name?: string;
  taskId: string;
  ready: boolean;
}

// ---------------------------------------------------------------- events

interface EventBase {
  /** ISO-8601 UTC with milliseconds. */
  timestamp: string;
}

export interface DeploymentAction {
  action: string;
  app?: string;
  pod?: string;
}

export interface DeploymentStep {
  actions: DeploymentAction[];
}

/** Light plan (1.7+ default); heavy plans (≤1.6) add `original`/`target` root groups. */
export interface DeploymentPlan {
  id: string;
  steps: DeploymentStep[];
  version: string;
  original?: unknown;
  target?: unknown;
}

export interface StatusUpdateEvent extends EventBase {
  eventType: 'status_update_event';
  slaveId: string;
  taskId: string;
  taskStatus: TaskState;
  message: string;
  appId: string;
  host: string;
  /** Absent before 1.4. */
  ipAddresses?: IpAddress[];
  ports: number[];
  version: string;
}

export interface InstanceChangedEvent extends EventBase {
  eventType: 'instance_changed_event';
  instanceId: string;
  condition: string;
  runSpecId: string;
  agentId?: string | null;
  host?: string | null;
  runSpecVersion: string;
}

/** Marathon-side health flip. Keyed by `instanceId` in 1.4+ (`taskId` before 1.4). */
export interface HealthStatusChangedEvent extends EventBase {
  eventType: 'health_status_changed_event';
  appId: string;
  instanceId?: string;
  taskId?: string;
  version: string;
  alive: boolean;
}

/** 1.4: `instanceId`; 1.5+: `taskId` whose value is the instance id. */
export interface FailedHealthCheckEvent extends EventBase {
  eventType: 'failed_health_check_event';
  appId: string;
  instanceId?: string;
  taskId?: string;
  healthCheck?: HealthCheck;
}

/** Aggregate instance health; `healthy` is `null` when unknown. */
export interface InstanceHealthChangedEvent extends EventBase {
  eventType: 'instance_health_changed_event';
  instanceId: string;
  runSpecId: string;
  healthy: boolean | null;
  runSpecVersion: string;
}

export interface UnhealthyInstanceKillEvent extends EventBase {
  eventType: 'unhealthy_instance_kill_event';
  appId: string;
  taskId: string;
  instanceId: string;
  version: string;
  reason: string;
  host: string;
  slaveId?: string;
}

export interface AddHealthCheckEvent extends EventBase {
  eventType: 'add_health_check_event';
  appId: string;
  version: string;
  healthCheck: HealthCheck;
}

export interface RemoveHealthCheckEvent extends EventBase {
  eventType: 'remove_health_check_event';
  appId: string;
}

export interface ApiPostEvent extends EventBase {
  eventType: 'api_post_event';
  clientIp: string;
  uri: string;
  appDefinition: App;
}

export interface GroupChangeSuccessEvent extends EventBase {
  eventType: 'group_change_success';
  groupId: string;
  version: string;
}

export interface GroupChangeFailedEvent extends EventBase {
  eventType: 'group_change_failed';
  groupId: string;
  version: string;
  reason: string;
}

export interface DeploymentInfoEvent extends EventBase {
  eventType: 'deployment_info' | 'deployment_step_success' | 'deployment_step_failure';
  plan: DeploymentPlan;
  currentStep: DeploymentStep;
}

export interface DeploymentSuccessEvent extends EventBase {
  eventType: 'deployment_success';
  id: string;
  plan: DeploymentPlan;
}

export interface DeploymentFailedEvent extends EventBase {
  eventType: 'deployment_failed';
  id: string;
  plan: DeploymentPlan;
  /** 1.6+. */
  reason?: string;
}

export interface AppTerminatedEvent extends EventBase {
  eventType: 'app_terminated_event';
  appId: string;
}

export interface UnknownInstanceTerminatedEvent extends EventBase {
  eventType: 'unknown_instance_terminated_event';
  instanceId: string;
  runSpecId: string;
  condition: string;
}

export interface PodEvent extends EventBase {
  eventType: 'pod_created_event' | 'pod_updated_event' | 'pod_deleted_event';
  clientIp: string;
  uri: string;
}

/** Written by Marathon as `remoteAddress` (event-bus.md's `clientIp` is wrong). */
export interface EventStreamAttachedEvent extends EventBase {
  eventType: 'event_stream_attached' | 'event_stream_detached';
  remoteAddress: string;
}

export interface SchedulerEvent extends EventBase {
  eventType: 'scheduler_registered_event' | 'scheduler_reregistered_event' | 'scheduler_disconnected_event';
  frameworkId?: string;
  master?: string;
}

export interface SubscriptionEvent extends EventBase {
  eventType: 'subscribe_event' | 'unsubscribe_event';
  clientIp: string;
  callbackUrl: string;
}

export interface FrameworkMessageEvent extends EventBase {
  eventType: 'framework_message_event';
  executorId: string;
  slaveId: string;
  message: number[];
}

/** Every event on `/v2/events`, discriminated on `eventType` (the SSE `event:` name is the same string). */
export type MarathonEvent =
  | StatusUpdateEvent
  | InstanceChangedEvent
  | HealthStatusChangedEvent
  | FailedHealthCheckEvent
  | InstanceHealthChangedEvent
  | UnhealthyInstanceKillEvent
  | AddHealthCheckEvent
  | RemoveHealthCheckEvent
  | ApiPostEvent
  | GroupChangeSuccessEvent
  | GroupChangeFailedEvent
  | DeploymentInfoEvent
  | DeploymentSuccessEvent
  | DeploymentFailedEvent
  | AppTerminatedEvent
  | UnknownInstanceTerminatedEvent
  | PodEvent
  | EventStreamAttachedEvent
  | SchedulerEvent
  | SubscriptionEvent
  | FrameworkMessageEvent;

export type MarathonEventType = MarathonEvent['eventType'];

/** The event with a given `eventType`, e.g. `EventOf<'status_update_event'>`. */
export type EventOf<T extends MarathonEventType> = Extract<MarathonEvent, { eventType: T }>;
