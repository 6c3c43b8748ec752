/** Bench helpers: scratch database, percentiles, result files. */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';

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

const BASE_URL = process.env.BERTH_BENCH_DATABASE_URL ?? process.env.BERTH_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A new empty PostgreSQL database next to BASE_URL's, dropped by `drop()`. */
export async function scratchDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `berth_bench_${process.pid}_${randomBytes(3).toString('hex')}`;
  const admin = knexFactory({ client: 'pg', connection: BASE_URL, pool: { min: 0, max: 1 } });
  await admin.raw(`create database ${name}`);
  const url = new URL(BASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await admin.raw(`drop database if exists ${name} with (force)`);
      await admin.destroy();
    },
  };
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
    return execFileSync('git', ['rev-parse', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() || null;
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
  const machine = { cores: os.cpus().length, loadAverage: os.loadavg(), cpu: os.cpus()[0]?.model ?? null, memoryBytes: os.totalmem(), node: process.version, platform: `${os.platform()} ${os.release()}` };
  fs.writeFileSync(file, `${JSON.stringify({ bench: name, at, commit: gitCommit(), machine, ...results }, null, 2)}\n`);
  return file;
}
