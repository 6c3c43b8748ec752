/** Port numbers: one rule for label values, declared ports, task ports and listen ports. */
import { bad, ok, type Checked } from './checked';
import { PORT_NAME } from './names';

export const PORT_MIN = 1;
export const PORT_MAX = 65535;

/** A usable TCP port: an integer 1..65535 (0, Marathon's "assign one", is not an address). */
export function isPort(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= PORT_MIN && n <= PORT_MAX;
}

/** A port written as plain decimal digits (a label value), 1..65535. */
export function checkPortText(raw: string): Checked<number> {
  const s = raw.trim();
  if (!/^[0-9]{1,5}$/.test(s)) return bad('not a port number');
  const n = Number(s);
  if (!isPort(n)) return bad(`port ${n} outside ${PORT_MIN}..${PORT_MAX}`);
  return ok(n);
}

/** True when `s` is a decimal port literal (possibly out of range): `berth.port` names a number, not a port name. */
export function looksNumeric(s: string): boolean {
  return /^\s*[0-9]+\s*$/.test(s);
}

/**
 * Most ports one app may publish through per-port labels. Each is its own service (an Nginx file,
 * DNS names), so the bound keeps one app's labels from multiplying berth's work.
 */
export const MAX_PUBLISHED_PORTS = 16;

/** A declared port as a per-port label names it: its 0-based index (digits) or its name. */
export type PortRef = { kind: 'index'; index: number; text: string } | { kind: 'name'; name: string; text: string };

/**
 * The `<port>` of `berth.port.<port>.<setting>`: only digits means an index (0-based, no leading
 * zeros, below 1000); anything else must be a port name (PORT_NAME). `text` is the canonical form,
 * which becomes the service's port qualifier.
 */
export function checkPortRef(raw: string): Checked<PortRef> {
  if (/^[0-9]+$/.test(raw)) {
    if (raw.length > 3 || (raw.length > 1 && raw.startsWith('0'))) return bad('port index must be 0..999 without leading zeros');
    const index = Number(raw);
    return ok({ kind: 'index', index, text: String(index) });
  }
  if (!PORT_NAME.test(raw)) return bad('not a port name or index');
  return ok({ kind: 'name', name: raw, text: raw });
}

/** True when `s` is a port reference in its canonical form (what a per-port service carries as `port`). */
export function isPortRef(s: unknown): s is string {
  if (typeof s !== 'string') return false;
  const c = checkPortRef(s);
  return c.ok && c.value.text === s;
}
