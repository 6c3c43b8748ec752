/** Self-signed certificate pairs for TLS tests: the generator `berth demo` uses (openssl CLI). */
import { makeSelfSignedPair } from '../../src/demo/self-signed';

/** Writes `<dir>/<name>.crt` and `.key` for `names` (subjectAltName DNS entries). */
export function makePair(dir: string, name: string, names: readonly string[], days = 30): void {
  makeSelfSignedPair(dir, name, names, days);
}
