/**
 * Finds the changes that make the test fail, given that the whole set failed. `passes(subset)`
 * applies exactly `subset` on top of the previous (known good) files and runs the test. Halves
 * that fail alone are searched recursively (about 2·k·log2(n) tests for k offenders among n). When
 * both halves pass alone but fail together (two services that clash), or what is left after
 * removing the offenders still fails, it falls back to adding changes one at a time and blaming
 * each one that breaks the accepted set.
 */
export async function findOffenders<T>(failing: readonly T[], passes: (subset: readonly T[]) => Promise<boolean>): Promise<T[]> {
  if (failing.length === 0) return [];
  // A lone suspect is tested alone too: the whole set failing is not proof enough to blame it
  // (the caller's failure may have come from elsewhere and gone away since).
  if (failing.length === 1) return (await passes(failing)) ? [] : [...failing];
  const offenders = await search(failing, passes);
  const remaining = failing.filter((c) => !offenders.includes(c));
  if (remaining.length > 0 && !(await passes(remaining))) offenders.push(...(await oneByOne(remaining, passes)));
  return offenders;
}

async function search<T>(failing: readonly T[], passes: (subset: readonly T[]) => Promise<boolean>): Promise<T[]> {
  if (failing.length === 1) return [...failing];
  const mid = Math.ceil(failing.length / 2);
  const offenders: T[] = [];
  let anyHalfFailed = false;
  for (const half of [failing.slice(0, mid), failing.slice(mid)]) {
    if (!(await passes(half))) {
      anyHalfFailed = true;
      offenders.push(...(await search(half, passes)));
    }
  }
  return anyHalfFailed ? offenders : oneByOne(failing, passes);
}

async function oneByOne<T>(items: readonly T[], passes: (subset: readonly T[]) => Promise<boolean>): Promise<T[]> {
  const accepted: T[] = [];
  const offenders: T[] = [];
  for (const c of items) {
    if (await passes([...accepted, c])) accepted.push(c);
    else offenders.push(c);
  }
  return offenders;
}
