/** Port numbers: one rule for label values, declared ports, task ports and listen ports. */
import { bad, ok, type Checked } from './checked';

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
