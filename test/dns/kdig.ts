/** kdig (knot-dnsutils) as a zone transfer client: records in the order received, messages, the error it reports. */
import { execFile } from 'node:child_process';

export interface KdigResult {
  /** `name ttl class type data`, one space between fields, in the order received. */
  records: string[];
  /** Messages received (transfers report them), 0 when none. */
  messages: number;
  /** The RCODE kdig reports as an error (`REFUSED`…), or '' when none. */
  error: string;
  raw: string;
}

/** Runs kdig against 127.0.0.1:`port`. */
export function kdig(port: number, args: string[]): Promise<KdigResult> {
  return new Promise((resolve) => {
    execFile('kdig', ['@127.0.0.1', '-p', String(port), '+time=3', '+retry=0', ...args], { timeout: 15_000, maxBuffer: 64 << 20 }, (_err, stdout, stderr) => {
      const raw = `${stdout}${stderr}`;
      resolve({
        records: raw
          .split('\n')
          .filter((l) => l && !l.startsWith(';'))
          .map((l) => l.trim().split(/\s+/).join(' ')),
        messages: Number(/\((\d+) messages?,/.exec(raw)?.[1] ?? 0),
        error: /server replied with error '(\w+)'/.exec(raw)?.[1] ?? '',
        raw,
      });
    });
  });
}

/** The serial of a SOA record line. */
export function soaSerial(line: string): number {
  return Number(line.split(' ')[6]);
}
