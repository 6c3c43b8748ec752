/**
 * Which declared port a service publishes: `berth.port` for the main service, `berth.port.<port>.*`
 * for each per-port one (docs/labels.md "Choosing the port").
 */
import { checkPortName, checkPortText, looksNumeric } from '../rules';
import type { DeclaredPort, NetworkMode } from './ports';
import { PROBLEM_CODES as C } from './problems';

/** Reports one problem naming a label (spec.ts collects them). */
export type Fail = (code: (typeof C)[keyof typeof C], label: string, value: string | undefined, reason: string) => void;

export interface ChosenPort {
  number: number;
  name: string | null;
  index: number | null;
}

/**
 * Declared port `i` as a service port: the container port for apps reached on their own address
 * (which must be known), else the port or its service port (the host port is looked up by index).
 */
export function portAt(ports: readonly DeclaredPort[], i: number, network: NetworkMode, fix: () => string): ChosenPort | { error: string } {
  const p = ports[i];
  const ownAddress = network !== 'host';
  const n = ownAddress ? p.number : p.number || p.servicePort || 0;
  if (ownAddress && n === 0) return { error: `declared port ${i} has no container port; ${fix()}` };
  const name = p.name !== null && checkPortName(p.name).ok ? p.name : null;
  return { number: n, name, index: i };
}

/** `berth.port` → the declared port it names; undeclared numbers are fine when the task's own address is used. */
export function choosePort(ports: readonly DeclaredPort[], raw: string | undefined, network: NetworkMode, label: string, fail: Fail): ChosenPort | null {
  const ownAddress = network !== 'host';
  const pick = (i: number): ChosenPort | null => {
    const c = portAt(ports, i, network, () => `set ${label} to a number`);
    if ('error' in c) {
      fail(C.PORT_NOT_FOUND, label, raw, c.error);
      return null;
    }
    return c;
  };
  if (raw === undefined) {
    if (ports.length > 0) return pick(0);
    fail(C.PORT_NOT_FOUND, label, raw, `the app declares no port; set ${label}`);
    return null;
  }
  if (looksNumeric(raw)) {
    const c = checkPortText(raw);
    if (!c.ok) {
      fail(C.LABEL_PORT_INVALID, label, raw, c.reason);
      return null;
    }
    const i = ports.findIndex((p) => p.number === c.value);
    if (i >= 0) return pick(i);
    // A fixed-IP or IP-per-task container is reached on its own address: no mapping needed.
    if (ownAddress) return { number: c.value, name: null, index: null };
    fail(C.PORT_NOT_FOUND, label, raw, `port ${c.value} is not declared by the app (host networking needs its host port)`);
    return null;
  }
  const n = checkPortName(raw);
  if (!n.ok) {
    fail(C.LABEL_PORT_INVALID, label, raw, n.reason);
    return null;
  }
  const i = ports.findIndex((p) => p.name === n.value);
  if (i >= 0) return pick(i);
  fail(C.PORT_NOT_FOUND, label, raw, `no port named "${n.value}"`);
  return null;
}
