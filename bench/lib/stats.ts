/** Small measurement helpers shared by the benchmarks: percentiles and /proc process figures. */
import fs from 'node:fs';

/** The p-th percentile (0..100) of the values, nearest-rank; NaN for none. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** CPU time of a process so far in ms, from /proc/<pid>/stat: its own (user) and the kernel's on its behalf (system). */
export function cpuSplitMs(pid: number): { user: number; sys: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) * TICK_MS, sys: Number(fields[12]) * TICK_MS };
}

/** CPU time (user + system) a process has used, in ms. */
export function cpuMs(pid: number): number {
  const { user, sys } = cpuSplitMs(pid);
  return user + sys;
}

/** Current and peak resident memory of a process in MB (VmRSS, VmHWM). */
export function rssMb(pid: number): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}
