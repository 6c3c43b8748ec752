/** IPAM domain types: what the API, the CLI and the registry's reconciler see. */

/** A pool as the operator describes it (API body of `POST /v1/pools`). */
export interface PoolSpec {
  name: string;
  cidr: string;
  /** Default: the first host of the CIDR. */
  gateway?: string;
  /** Extra addresses kept out of allocation: `10.0.0.5`, `10.0.0.16/28` or `10.0.0.20-10.0.0.30`. */
  reserved?: string[];
  /** Docker `--aux-address name=ip`: reserved and printed in the `docker network create` command. */
  auxAddresses?: Record<string, string>;
  /** Docker `--ip-range`: left to containers started without `--ip`, so reserved here. */
  ipRange?: string;
  /** Docker network name (`--net`), used by `/v1/apps/prepare`. */
  dockerNetwork?: string;
  /** Linux bridge name (`com.docker.network.bridge.name`). */
  bridgeName?: string;
  /** Seconds a released address stays out of allocation (default 900). */
  quarantineSeconds?: number;
  /** The allocation window; default: every host of an IPv4 pool, the first 65,536 of an IPv6 prefix. */
  allocationRange?: { first: string; last: string };
  /** Accept a loopback, link-local or reserved-for-future-use CIDR, or one wider than IPv4 /8 / IPv6 /48. */
  allowSpecial?: boolean;
}

/** A validated pool ready for the store. */
export interface PoolPlan {
  name: string;
  family: 4 | 6;
  cidr: string;
  gateway: string;
  allocFirst: string;
  allocLast: string;
  /** Inclusive ranges to mark reserved, with why. */
  reservations: Array<{ first: string; last: string; reason: string }>;
  reserved: string[];
  auxAddresses: Record<string, string>;
  ipRange: string | null;
  dockerNetwork: string | null;
  bridgeName: string | null;
  quarantineSeconds: number;
  /** Refusals lifted by `allowSpecial` (recorded in the pool_create audit event). */
  overridden: string[];
}

/** Address counts computed by the database. `available` excludes quarantined and reserved addresses. */
export interface PoolUsage {
  capacity: number;
  allocated: number;
  quarantined: number;
  reserved: number;
  available: number;
}

/** A stored pool. */
export interface Pool {
  name: string;
  family: 4 | 6;
  cidr: string;
  prefixLength: number;
  gateway: string | null;
  allocationRange: { first: string; last: string };
  reserved: string[];
  auxAddresses: Record<string, string>;
  ipRange: string | null;
  dockerNetwork: string | null;
  bridgeName: string | null;
  quarantineSeconds: number;
  createdAt: string;
}

export interface PoolWithUsage extends Pool {
  usage: PoolUsage;
}

/** One app's address in one pool. `allocationId` changes on every allocation (fencing token). */
export interface Allocation {
  pool: string;
  appId: string;
  ip: string;
  prefixLength: number;
  gateway: string | null;
  allocationId: number;
  allocatedAt: string;
}

export type IpamAction = 'pool_create' | 'pool_delete' | 'allocate' | 'claim' | 'release' | 'orphan_mark' | 'orphan_clear' | 'orphan_release';

/** One audit record (append-only). */
export interface IpamEvent {
  id: number;
  at: string;
  pool: string;
  ip: string | null;
  appId: string | null;
  allocationId: number | null;
  action: IpamAction;
  actor: string;
  detail: Record<string, unknown> | null;
}

/** Result of one reconciliation pass for one pool. */
export interface ReconcileResult {
  pool: string;
  /** Allocations seen missing for the first time (not released yet). */
  marked: number;
  /** Marked allocations whose app came back. */
  cleared: number;
  /** Allocations released after two observations and the grace period. */
  released: number;
  /** Why the pass did nothing: another replica holds the pool, or the answer looked unsafe. */
  skipped?: 'busy' | 'empty-answer' | 'too-many-missing';
}

export interface ReconcileOptions {
  /** Time between the first "missing" observation and release. Default 600. */
  graceSeconds?: number;
  /** At most this many releases per pass. Default 200. */
  maxPerPass?: number;
  /** Skip the pass when more than this share of allocations is missing at once. Default 0.5. */
  maxMissingRatio?: number;
  /** …but only when more than this many are missing. Default 5. */
  minMissingForRatio?: number;
}

/** Outcome of `claim`: a running container already uses `ip` for `appId`. */
export type ClaimResult =
  { status: 'claimed' | 'already-held'; allocation: Allocation } | { status: 'conflict'; code: string; message: string; owner?: string };
