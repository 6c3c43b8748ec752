/** Bench helpers: scratch database, percentiles, result files. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BENCH_PG_URL, scratchPg } from '../lib/pg';

export interface Phase {
  name: string;
  fill: number;
  requests: number;
  errors: number;
  seconds: number;
  allocationsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** CPU the berth process (HTTP + knex) spent per allocation. */
  serverCpuMsPerAllocation?: number;
}

/** A new empty PostgreSQL database for this run (shared with the other benches), dropped by `drop()`. */
export async function scratchDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const db = await scratchPg('ipam');
  if (!db) throw new Error(`PostgreSQL is not reachable at ${BENCH_PG_URL} (set BERTH_BENCH_DATABASE_URL)`);
  return db;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export function summarise(name: string, run: { latencies: number[]; ips: string[]; seconds: number; errors: number }, fill: number): Phase {
  const sorted = [...run.latencies].sort((a, b) => a - b);
  return {
    name,
    fill,
    requests: run.latencies.length,
    errors: run.errors,
    seconds: run.seconds,
    allocationsPerSecond: run.ips.length / run.seconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted[sorted.length - 1] ?? NaN,
  };
}

function gitCommit(): string | null {
  try {
    return (
      execFileSync('git', ['rev-parse', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim() || null
    );
  } catch {
    return null; // no commit yet, or not a git checkout
  }
}

/** Writes `bench/results/<name>-<timestamp>.json` with machine facts; returns the path. */
export function writeResults(name: string, results: Record<string, unknown>): string {
  const dir = path.resolve(__dirname, '..', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const at = new Date().toISOString();
  const file = path.join(dir, `${name}-${at.replace(/[:.]/g, '-')}.json`);
  const machine = {
    cores: os.cpus().length,
    loadAverage: os.loadavg(),
    cpu: os.cpus()[0]?.model ?? null,
    memoryBytes: os.totalmem(),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
  fs.writeFileSync(file, `${JSON.stringify({ bench: name, at, commit: gitCommit(), machine, ...results }, null, 2)}\n`);
  return file;
}
