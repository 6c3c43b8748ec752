/**
 * The mass-removal guard (docs/reliability.md, rule 1): a snapshot that is empty, failed, or
 * would remove too much of what is published is held for an operator instead of applied.
 */

/** Why a snapshot was held. */
export type HoldReason = 'empty' | 'failed' | 'all-endpoints-removed' | 'endpoint-removal-ratio' | 'service-removal-ratio';

/** Sizes the guard compares. */
export interface GuardInput {
  /** Apps in Marathon's answer (all apps, berth's or not). */
  apps: number;
  currentServices: number;
  currentEndpoints: number;
  nextServices: number;
  nextEndpoints: number;
  /** Published services that the snapshot would remove. */
  removedServices: number;
  maxRemovalRatio: number;
}

/** Null when the snapshot may be applied, else the reason to hold it. An empty registry is never guarded. */
export function holdReason(g: GuardInput): HoldReason | null {
  if (g.currentServices === 0 && g.currentEndpoints === 0) return null;
  if (g.apps === 0) return 'empty';
  if (g.currentEndpoints > 0 && g.nextEndpoints === 0) return 'all-endpoints-removed';
  // Net shrink, not removed task ids: a rolling restart replaces every task id but loses nothing.
  if (g.currentEndpoints > 0 && (g.currentEndpoints - g.nextEndpoints) / g.currentEndpoints > g.maxRemovalRatio) {
    return 'endpoint-removal-ratio';
  }
  if (g.currentServices > 0 && g.removedServices / g.currentServices > g.maxRemovalRatio) return 'service-removal-ratio';
  return null;
}
