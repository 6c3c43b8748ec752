/** The API shapes the page reads (see the OpenAPI document at /v1/openapi.json). */
export interface Endpoint {
  taskId: string;
  address: string;
  port: number;
  host: string;
}
export interface Service {
  /** Per-port services only: the port name or index (docs/labels.md "Several ports"). */
  port?: string;
  env: string;
  appId: string;
  domains: string[];
  proxy: 'http' | 'tcp' | 'none';
  listen: number | null;
  dns: 'direct' | 'proxy' | 'none';
  portName: string | null;
  servicePort: number;
  fixedIp: string | null;
  endpoints: Endpoint[];
  version: string;
  /** Present only when the app sets proxy option labels. */
  options?: { connectTimeout?: number; readTimeout?: number; bodyMax?: number; allow?: string[]; sticky?: 'cookie' | 'ip' };
  /** Present only when the app asks for TLS. */
  tls?: 'on' | 'redirect';
  hsts?: number;
  /** Present only when the app serves path prefixes of its domains. */
  paths?: string[];
  pathStrip?: boolean;
}
export interface Problem {
  code: string;
  appId: string;
  env: string | null;
  message: string;
  details?: Record<string, unknown>;
  since: string;
  source: string;
}
export interface PoolUsage {
  capacity: number;
  allocated: number;
  quarantined: number;
  reserved: number;
  available: number;
}
export interface Pool {
  name: string;
  family: 4 | 6;
  cidr: string;
  gateway: string | null;
  allocationRange: { first: string; last: string };
  reserved: string[];
  dockerNetwork: string | null;
  quarantineSeconds: number;
  createdAt: string;
  usage: PoolUsage;
}
export interface Allocation {
  pool: string;
  appId: string;
  ip: string;
  allocationId: number;
  allocatedAt?: string;
}
export interface IpamEvent {
  id: number;
  at: string;
  pool: string;
  ip: string | null;
  appId: string | null;
  allocationId: number | null;
  action: string;
  actor: string;
  detail: Record<string, unknown> | null;
}
export interface SyncRun {
  id?: number;
  startedAt: string;
  finishedAt: string;
  trigger: string;
  status: 'applied' | 'unchanged' | 'held' | 'failed';
  filesWritten: number;
  filesRemoved: number;
  reloaded: boolean;
  heldReason?: string | null;
  error?: string | null;
}
export interface SyncStatus {
  held: { reason: string; since: string; position: number } | null;
  lastRun: SyncRun | null;
  lastReloadAt: string | null;
  appliedPosition: number | null;
  excluded: Array<{ env: string; appId: string; path: string }>;
}
export interface RegistryStatus {
  loaded: boolean;
  position: number;
  services: number;
  endpoints: number;
  problems: number;
  held: null | {
    reason: string;
    since: string;
    lastAt?: string;
    attempts?: number;
    current?: { services?: number; endpoints?: number };
    proposed?: null | { apps?: number; services?: number; endpoints?: number; removedServices?: number };
    error?: string;
  };
  lastSnapshot: null | { at: string; result: string; durationMs: number };
  marathon: null | { lastSuccessAt: string | null; lastError: string | null; consecutiveFailures: number };
}
export interface Cluster {
  self: { id: string; role: 'leader' | 'standby'; epoch: number | null; leaderSince: string | null; startedAt: string };
  leader: null | { id: string; apiUrl: string | null; epoch: number; acquiredAt: string; alive: boolean };
  members: Array<{ id: string; role: string; alive: boolean; heartbeatAt: string }>;
}
export interface Ready {
  ready: boolean;
  checks: Record<string, { ok: boolean; detail?: unknown }>;
}
export interface DnsStatus {
  loaded: boolean;
  position: number;
  serial: number;
  names: number;
  queriesTotal: number;
  queriesPerSecond: number | null;
}
export type Topic = 'registry' | 'problems' | 'pools' | 'sync';
