/**
 * What the fault suite observed, for the failure matrix in docs/operations.md: each test records
 * its fault, what users saw during and after, and the measured recovery time once its assertions
 * passed. Each test file writes its own part (files run in parallel workers) and re-merges all
 * parts into bench/results/faults-latest.json.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface FaultRecord {
  fault: string;
  /** What users see while the fault lasts (API, DNS, Nginx files). */
  during: string;
  /** What they see once it is over (converged state, nothing lost). */
  after: string;
  /** From the end of the fault (or its detection, see `recoveryFrom`) to converged; null: not applicable. */
  recoveryMs: number | null;
  recoveryFrom: string;
}

const DIR = path.resolve(__dirname, '../../bench/results');
const PARTS = path.join(DIR, 'faults.d');

/** Collects one test file's records; `flush()` in afterAll. */
export class FaultLog {
  private readonly records: Array<FaultRecord & { file: string; at: string }> = [];
  constructor(private readonly file: string) {}

  add(r: FaultRecord): void {
    this.records.push({ ...r, recoveryMs: r.recoveryMs === null ? null : Math.round(r.recoveryMs), file: this.file, at: new Date().toISOString() });
  }

  flush(): void {
    fs.mkdirSync(PARTS, { recursive: true });
    fs.writeFileSync(path.join(PARTS, `${this.file}.json`), `${JSON.stringify(this.records, null, 2)}\n`);
    const all = fs
      .readdirSync(PARTS)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .flatMap((f) => {
        try {
          return JSON.parse(fs.readFileSync(path.join(PARTS, f), 'utf8')) as unknown[];
        } catch {
          return [];
        }
      });
    const out = {
      date: new Date().toISOString(),
      cores: os.cpus().length,
      node: process.version,
      loadavg: os.loadavg().map((l) => Math.round(l * 100) / 100),
      faults: all,
    };
    const tmp = path.join(DIR, `.faults-latest.${process.pid}.tmp`);
    fs.writeFileSync(tmp, `${JSON.stringify(out, null, 2)}\n`);
    fs.renameSync(tmp, path.join(DIR, 'faults-latest.json'));
  }
}
