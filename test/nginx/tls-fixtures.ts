/** Self-signed certificate pairs for TLS tests, made with the openssl CLI in a tmp dir. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Writes `<dir>/<name>.crt` and `.key` for `names` (subjectAltName DNS entries); returns nothing. */
export function makePair(dir: string, name: string, names: readonly string[], days = 30): void {
  const crt = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  // Written beside and renamed, as a renewal tool would: the sync must see a new inode/mtime.
  const tmpCrt = `${crt}.new`;
  const tmpKey = `${key}.new`;
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      tmpKey,
      '-out',
      tmpCrt,
      '-days',
      String(days),
      '-subj',
      `/CN=${names[0]}`,
      '-addext',
      `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
    ],
    { stdio: 'ignore' },
  );
  fs.renameSync(tmpKey, key);
  fs.renameSync(tmpCrt, crt);
}
