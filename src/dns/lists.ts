/**
 * Exact-size copies of short lists the index keeps. An array grown by `push` or `splice` from empty
 * reserves 17 slots; the index holds a few such lists per name (claims, PTR domains), so at 100,000
 * names the spare slots were megabytes of heap that every collection walked. Pure.
 */

/** `list` with `v` inserted at `i`, as a new array of exactly the new length. */
export function inserted<T>(list: readonly T[], i: number, v: T): T[] {
  const out = new Array<T>(list.length + 1);
  for (let k = 0; k < i; k++) out[k] = list[k];
  out[i] = v;
  for (let k = i; k < list.length; k++) out[k + 1] = list[k];
  return out;
}

/** `list` without its entry at `i`, as a new array of exactly the new length. */
export function removed<T>(list: readonly T[], i: number): T[] {
  const out = new Array<T>(list.length - 1);
  for (let k = 0; k < i; k++) out[k] = list[k];
  for (let k = i + 1; k < list.length; k++) out[k - 1] = list[k];
  return out;
}
