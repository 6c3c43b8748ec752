/**
 * The order services are rendered in. It decides which of two TCP services in one environment
 * keeps a contested listen port, so every render (full, memoised, shared domains only) uses it.
 */
import type { Service } from '../model/types';

/**
 * Positions of `services` in the order of `env + appId` as one string (the order files have always
 * been rendered in, which decides who keeps a contested TCP port); equal names keep their order.
 */
export function sortOrder(services: readonly Service[]): Uint32Array {
  const keys = services.map((s) => `${s.env}${s.appId}`);
  const perm = Array.from(services.keys()).sort((x, y) => (keys[x] < keys[y] ? -1 : keys[x] > keys[y] ? 1 : x - y));
  return Uint32Array.from(perm);
}

/** `services` sorted by `sortOrder`. */
export const inOrder = (services: readonly Service[]): Service[] => Array.from(sortOrder(services), (i) => services[i]);
