/**
 * Self-signed certificate pairs made with the `openssl` CLI, in the layout BERTH_TLS_DIR expects
 * (`<name>.crt` + `<name>.key`). Used by `berth demo` at start and by the TLS tests; never for
 * production certificates.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** `openssl version` when the CLI is on PATH, else undefined. */
export function opensslVersion(bin = 'openssl'): string | undefined {
  const r = spawnSync(bin, ['version'], { encoding: 'utf8' });
  return r.error || r.status !== 0 ? undefined : r.stdout.trim() || 'openssl';
}

/**
 * Writes `<dir>/<name>.crt` and `<dir>/<name>.key` (P-256, key mode 0600) valid for `days` from now
 * for `names` (subjectAltName DNS entries; the first is also the CN). Throws with openssl's own
 * message when it fails.
 */
export function makeSelfSignedPair(dir: string, name: string, names: readonly string[], days = 30, bin = 'openssl'): { cert: string; key: string } {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  // Written beside and renamed, as a renewal tool would: a reader never sees half a pair, and the
  // sync sees a new inode.
  const tmpCert = `${cert}.new`;
  const tmpKey = `${key}.new`;
  const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', tmpKey, '-out', tmpCert];
  args.push('-days', String(days), '-subj', `/CN=${names[0]}`, '-addext', `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`);
  try {
    execFileSync(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    fs.rmSync(tmpKey, { force: true });
    fs.rmSync(tmpCert, { force: true });
    const stderr = String((err as { stderr?: Buffer }).stderr ?? '').trim();
    throw new Error(`openssl req failed: ${stderr.split('\n')[0] || (err as Error).message}`);
  }
  // Older openssl versions create the key with the umask's mode.
  fs.chmodSync(tmpKey, 0o600);
  fs.renameSync(tmpKey, key);
  fs.renameSync(tmpCert, cert);
  return { cert, key };
}
