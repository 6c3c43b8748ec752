/**
 * Jest global teardown: when this run's fault suite wrote new results, docs/operations.md is
 * regenerated from them (the failure matrix is generated from the last run, never typed by hand).
 * A run without the fault suite leaves the document alone.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeOperationsDoc } from '../../scripts/operations-doc';

export default async function teardown(): Promise<void> {
  const faults = path.resolve(__dirname, '../../bench/results/faults-latest.json');
  const runStarted = Date.now() - process.uptime() * 1000;
  if (!fs.existsSync(faults) || fs.statSync(faults).mtimeMs < runStarted) return;
  writeOperationsDoc();
}
