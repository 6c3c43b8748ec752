/**
 * Certificate pairs from the operator's TLS directory (BERTH_TLS_DIR, docs/nginx.md "TLS"): found by
 * name (`<domain>.crt/.key`, else `_.<parent>.crt/.key`), checked with Node's crypto before anything
 * is rendered, so a bad pair costs its app HTTPS (a problem) and never fails `nginx -t` for everyone.
 */
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { certificateNames } from '../rules';

/** Larger files are refused unread: a full chain is a few KiB. */
export const MAX_PEM_BYTES = 1024 * 1024;

/** A pair Nginx may load for a domain. */
export interface UsablePair {
  ok: true;
  /** File stem in the directory: the domain or `_.<parent>`. */
  name: string;
  cert: string;
  key: string;
  /** sha256 of both files' bytes: a renewed pair changes it, and with it the rendered file. */
  fingerprint: string;
  /** Epoch ms of the certificate's notAfter. */
  notAfter: number;
}

export type PairCheck = UsablePair | { ok: false; code: 'TLS_CERT_MISSING' | 'TLS_CERT_INVALID'; reason: string };

/** What identifies a file's version without reading it: a renewal (rename or rewrite) changes one of these. */
export async function statStamp(file: string): Promise<string> {
  try {
    const st = await fs.stat(file);
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return 'absent';
  }
}

async function readPem(file: string): Promise<Buffer> {
  const st = await fs.stat(file);
  if (!st.isFile()) throw new Error(`${path.basename(file)} is not a regular file`);
  if (st.size > MAX_PEM_BYTES) throw new Error(`${path.basename(file)} is larger than ${MAX_PEM_BYTES} bytes`);
  return fs.readFile(file);
}

/** Checks one named pair for `domain` at `now`. */
export async function checkPair(dir: string, name: string, domain: string, now: number): Promise<PairCheck> {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  let certPem: Buffer;
  let keyPem: Buffer;
  try {
    [certPem, keyPem] = await Promise.all([readPem(cert), readPem(key)]);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return { ok: false, code: 'TLS_CERT_MISSING', reason: `${name}.crt and ${name}.key not both present` };
    return { ok: false, code: 'TLS_CERT_INVALID', reason: `${name}: unreadable (${e.code ?? e.message})` };
  }
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(certPem);
  } catch {
    return { ok: false, code: 'TLS_CERT_INVALID', reason: `${name}.crt is not a PEM certificate` };
  }
  try {
    if (!x509.checkPrivateKey(createPrivateKey(keyPem))) return { ok: false, code: 'TLS_CERT_INVALID', reason: `${name}.key does not match ${name}.crt` };
  } catch {
    return { ok: false, code: 'TLS_CERT_INVALID', reason: `${name}.key is not a PEM private key` };
  }
  // Subject alternative names only (browsers ignore the common name when there are SANs).
  if (x509.checkHost(domain, { subject: 'default' }) === undefined)
    return { ok: false, code: 'TLS_CERT_INVALID', reason: `${name}.crt is not valid for ${domain}` };
  const notBefore = Date.parse(x509.validFrom);
  const notAfter = Date.parse(x509.validTo);
  if (!(notBefore <= now)) return { ok: false, code: 'TLS_CERT_INVALID', reason: `${name}.crt is not valid before ${x509.validFrom}` };
  if (!(now < notAfter)) return { ok: false, code: 'TLS_CERT_INVALID', reason: `${name}.crt expired ${x509.validTo}` };
  const fingerprint = createHash('sha256').update(certPem).update('\0').update(keyPem).digest('hex');
  return { ok: true, name, cert, key, fingerprint, notAfter };
}

/**
 * The pair for `domain`: the exact one when present (even when bad: an operator who placed it meant
 * it, and silently falling back to the wildcard would hide the mistake), else the wildcard of the parent.
 */
export async function pairFor(dir: string, domain: string, now: number): Promise<PairCheck> {
  for (const name of certificateNames(domain)) {
    const c = await checkPair(dir, name, domain, now);
    if (c.ok || c.code !== 'TLS_CERT_MISSING') return c;
  }
  return {
    ok: false,
    code: 'TLS_CERT_MISSING',
    reason: `no ${certificateNames(domain)
      .map((n) => `${n}.crt/.key`)
      .join(' nor ')} in the TLS directory`,
  };
}
