/**
 * Which certificate each TLS service's domains get, per sync run, and the problems that go with it
 * (docs/nginx.md "TLS"). Pairs are re-read only when a file's inode, size or mtime moves (or once a
 * minute, for the validity dates); `changed()` is the cheap stat the sync's poll runs every interval,
 * so a renewed pair is rendered (its fingerprint is in the file) and reloaded without a registry change.
 */
import path from 'node:path';
import { Gauge, type Registry } from 'prom-client';
import { PROBLEM_CODES as C, problem } from '../model/problems';
import { serviceKey } from '../model/service-key';
import type { Problem, Service } from '../model/types';
import { certificateNames, isSafeTlsDir } from '../rules';
import { pairFor, statStamp, type PairCheck, type UsablePair } from './tls-certs';

/** How long a checked pair is trusted without a file change: validity dates move with the clock. */
const RECHECK_MS = 60_000;
const DAY_MS = 86_400_000;

/** One HTTPS server block: the names one certificate serves. */
export interface TlsServer {
  serverNames: string;
  cert: string;
  key: string;
  fingerprint: string;
}

/** What a service's file gets. `redirect` only when every domain has HTTPS. */
export interface TlsPlan {
  servers: TlsServer[];
  redirect: boolean;
  hsts: number | null;
}

export interface TlsResolution {
  plans: Map<string, TlsPlan>;
  problems: Problem[];
  /** Changes whenever any plan does (the render memo is dropped then). */
  key: string;
}

export const tlsPlanKey = (s: Pick<Service, 'env' | 'appId' | 'port'>): string => `${s.env}\0${serviceKey(s)}`;

interface Cached {
  stamps: string;
  checkedAt: number;
  result: PairCheck;
}

export class TlsCatalog {
  private readonly cache = new Map<string, Cached>();
  /** Files the last resolution looked at, with their stamps. */
  private watched = new Map<string, string>();
  private readonly expiry: Gauge<'domain'> | null;

  constructor(
    private readonly dir: string,
    private readonly warnDays: number,
    registry: Registry | null,
  ) {
    this.expiry = registry
      ? new Gauge({
          name: 'berth_nginx_tls_certificate_expiry_timestamp_seconds',
          help: 'notAfter of the certificate each TLS domain is served with (unix seconds)',
          labelNames: ['domain'],
          registers: [registry],
        })
      : null;
  }

  /** A certificate file that moved since the last resolution (renewed, added, removed). */
  async changed(): Promise<boolean> {
    for (const [file, stamp] of this.watched) if ((await statStamp(file)) !== stamp) return true;
    return false;
  }

  async resolve(services: readonly Service[], now: number): Promise<TlsResolution> {
    const plans = new Map<string, TlsPlan>();
    const problems: Problem[] = [];
    const watched = new Map<string, string>();
    const used = new Set<string>();
    const usable = isSafeTlsDir(this.dir);
    this.expiry?.reset();
    for (const s of services) {
      if (s.tls === undefined || s.proxy !== 'http') continue;
      const issues = new Map<string, string[]>();
      const note = (code: string, msg: string) => issues.set(code, [...(issues.get(code) ?? []), msg]);
      const byPair = new Map<string, { names: string[]; pair: UsablePair }>();
      for (const domain of s.domains) {
        if (!usable) {
          note(C.TLS_CERT_MISSING, this.dir === '' ? 'BERTH_TLS_DIR is not set' : 'BERTH_TLS_DIR is not an absolute path of plain characters');
          continue;
        }
        used.add(domain);
        const r = await this.pair(domain, now, watched);
        if (!r.ok) {
          note(r.code, `${domain}: ${r.reason}`);
          continue;
        }
        const entry = byPair.get(r.name) ?? { names: [], pair: r };
        entry.names.push(domain);
        byPair.set(r.name, entry);
        this.expiry?.set({ domain }, Math.floor(r.notAfter / 1000));
        if (r.notAfter - now < this.warnDays * DAY_MS) note(C.TLS_CERT_EXPIRING, `${domain}: ${r.name}.crt expires ${new Date(r.notAfter).toISOString()}`);
      }
      const servers = [...byPair.values()].map(({ names, pair }) => ({
        serverNames: names.join(' '),
        cert: pair.cert,
        key: pair.key,
        fingerprint: pair.fingerprint,
      }));
      const complete = servers.length > 0 && !issues.has(C.TLS_CERT_MISSING) && !issues.has(C.TLS_CERT_INVALID);
      plans.set(tlsPlanKey(s), { servers, redirect: s.tls === 'redirect' && complete, hsts: s.hsts ?? null });
      for (const [code, msgs] of issues) {
        const served =
          code === C.TLS_CERT_EXPIRING ? 'still served' : servers.length > 0 ? 'those names are served on plain HTTP only' : 'served on plain HTTP only';
        const redirectNote = s.tls === 'redirect' && !complete && code !== C.TLS_CERT_EXPIRING ? ' (no redirect to HTTPS)' : '';
        problems.push(
          problem(
            code as typeof C.TLS_CERT_MISSING,
            s.appId,
            s.env,
            `${msgs.join('; ')}: ${served}${redirectNote}`,
            s.port !== undefined ? { port: s.port } : undefined,
          ),
        );
      }
    }
    this.watched = watched;
    for (const domain of this.cache.keys()) if (!used.has(domain)) this.cache.delete(domain);
    return { plans, problems, key: JSON.stringify([...plans]) };
  }

  private async pair(domain: string, now: number, watched: Map<string, string>): Promise<PairCheck> {
    const files = certificateNames(domain).flatMap((n) => [path.join(this.dir, `${n}.crt`), path.join(this.dir, `${n}.key`)]);
    const stamps = await Promise.all(files.map((f) => statStamp(f)));
    files.forEach((f, i) => watched.set(f, stamps[i]));
    const stampKey = stamps.join('|');
    const hit = this.cache.get(domain);
    if (hit && hit.stamps === stampKey && now - hit.checkedAt < RECHECK_MS) return hit.result;
    const result = await pairFor(this.dir, domain, now);
    this.cache.set(domain, { stamps: stampKey, checkedAt: now, result });
    return result;
  }
}
