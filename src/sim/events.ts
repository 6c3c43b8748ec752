/**
 * Event JSON builders, per flavour (docs/marathon.md "Events and what berth does with them"). Each returns the object whose
 * compact JSON goes on the `data:` line; `eventType` doubles as the SSE event name.
 */
import type { AppDefinition, Flavour, SimTask } from './model';
import { CONDITION, isoNow } from './model';
import { appDefinitionJson, healthChecksJson } from './serialize';

type Json = Record<string, unknown>;

/** A Marathon event as the bus carries it. */
export interface SimEvent extends Json {
  eventType: string;
  timestamp: string;
}

export function statusUpdateEvent(t: SimTask): SimEvent {
  return {
    slaveId: t.slaveId,
    taskId: t.id,
    taskStatus: t.state,
    message: t.message,
    appId: t.appId,
    host: t.host,
    ipAddresses: t.ipAddresses,
    ports: t.ports,
    version: t.version,
    eventType: 'status_update_event',
    timestamp: isoNow(),
  };
}

export function instanceChangedEvent(t: SimTask): SimEvent {
  return {
    instanceId: t.instanceId,
    condition: CONDITION[t.state],
    runSpecId: t.appId,
    agentId: t.slaveId,
    host: t.host,
    runSpecVersion: t.version,
    timestamp: isoNow(),
    eventType: 'instance_changed_event',
  };
}

export function healthStatusChangedEvent(t: SimTask, alive: boolean): SimEvent {
  return { appId: t.appId, instanceId: t.instanceId, version: t.version, alive, eventType: 'health_status_changed_event', timestamp: isoNow() };
}

/** 1.4 keys it by `instanceId`; 1.5+ by `taskId`, whose value is still the instance id. */
export function failedHealthCheckEvent(t: SimTask, def: AppDefinition, flavour: Flavour): SimEvent {
  const healthCheck = healthChecksJson(def, flavour)[0] ?? {};
  if (flavour === '1.4') return { appId: t.appId, instanceId: t.instanceId, healthCheck, eventType: 'failed_health_check_event', timestamp: isoNow() };
  return { appId: t.appId, eventType: 'failed_health_check_event', healthCheck, taskId: t.instanceId, timestamp: isoNow() } as SimEvent;
}

export function instanceHealthChangedEvent(t: SimTask, healthy: boolean | null): SimEvent {
  return { instanceId: t.instanceId, runSpecId: t.appId, healthy, runSpecVersion: t.version, timestamp: isoNow(), eventType: 'instance_health_changed_event' };
}

export function addHealthCheckEvent(def: AppDefinition, flavour: Flavour): SimEvent {
  const healthCheck = healthChecksJson(def, flavour)[0] ?? {};
  if (flavour === '1.4') return { appId: def.id, version: def.version, healthCheck, eventType: 'add_health_check_event', timestamp: isoNow() };
  return { appId: def.id, eventType: 'add_health_check_event', healthCheck, timestamp: isoNow(), version: def.version } as SimEvent;
}

export function apiPostEvent(clientIp: string, uri: string, def: AppDefinition, flavour: Flavour): SimEvent {
  return { clientIp, uri, appDefinition: appDefinitionJson(def, flavour), eventType: 'api_post_event', timestamp: isoNow() };
}

export function groupChangeSuccess(version: string): SimEvent {
  return { groupId: '/', version, eventType: 'group_change_success', timestamp: isoNow() };
}

export function appTerminatedEvent(appId: string): SimEvent {
  return { appId, eventType: 'app_terminated_event', timestamp: isoNow() };
}

export function streamAttachmentEvent(kind: 'event_stream_attached' | 'event_stream_detached', remoteAddress: string): SimEvent {
  return { remoteAddress, eventType: kind, timestamp: isoNow() };
}

export type ActionName = 'StartApplication' | 'StopApplication' | 'ScaleApplication' | 'RestartApplication';
export interface Step {
  actions: { action: ActionName; app: string }[];
}

/** A deployment plan; 1.4 writes it heavy (root groups before/after), 1.8+ always light. */
export interface Plan {
  id: string;
  steps: Step[];
  version: string;
  original: AppDefinition[];
  target: AppDefinition[];
}

function rootGroup(defs: AppDefinition[], version: string, flavour: Flavour): Json {
  return { id: '/', apps: defs.map((d) => appDefinitionJson(d, flavour)), groups: [], dependencies: [], version };
}

// Heavy plans hold the whole root group twice; serialise them once per plan, not once per event.
const heavyPlans = new WeakMap<Plan, Json>();

function planJson(plan: Plan, flavour: Flavour): Json {
  if (flavour === '1.10') return { id: plan.id, steps: plan.steps, version: plan.version };
  const cached = heavyPlans.get(plan);
  if (cached) return cached;
  const json: Json = {
    id: plan.id,
    original: rootGroup(plan.original, plan.version, flavour),
    target: rootGroup(plan.target, plan.version, flavour),
    steps: plan.steps,
    version: plan.version,
  };
  heavyPlans.set(plan, json);
  return json;
}

export function deploymentInfo(kind: 'deployment_info' | 'deployment_step_success', plan: Plan, step: Step, flavour: Flavour): SimEvent {
  return { plan: planJson(plan, flavour), currentStep: step, eventType: kind, timestamp: isoNow() };
}

export function deploymentSuccess(plan: Plan, flavour: Flavour): SimEvent {
  return { id: plan.id, plan: planJson(plan, flavour), eventType: 'deployment_success', timestamp: isoNow() };
}

/** A deployment superseded (forced change) or failed; 1.6+ adds `reason`. */
export function deploymentFailed(plan: Plan, flavour: Flavour, reason: string): SimEvent {
  const ev: SimEvent = { id: plan.id, plan: planJson(plan, flavour), eventType: 'deployment_failed', timestamp: isoNow() };
  if (flavour === '1.10') ev.reason = reason;
  return ev;
}

/** Marathon killed a task whose health checks failed `maxConsecutiveFailures` times. */
export function unhealthyInstanceKillEvent(t: SimTask, reason: string): SimEvent {
  return {
    appId: t.appId,
    taskId: t.id,
    instanceId: t.instanceId,
    version: t.version,
    reason,
    host: t.host,
    slaveId: t.slaveId,
    eventType: 'unhealthy_instance_kill_event',
    timestamp: isoNow(),
  };
}
