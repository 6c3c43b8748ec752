/**
 * Marathon REST client (axios): a deadline on every call, Basic or DC/OS token auth, rotation
 * through several base URLs on connection failure, timeout, 5xx or a bad answer, 302s followed
 * with credentials kept, `/v2/leader` aware. Every failure is a `MarathonError`.
 */
import http from 'node:http';
import https from 'node:https';
import axios, { type AxiosInstance, isAxiosError } from 'axios';
import type { Logger } from 'pino';
import { silentLogger } from '../log';
import { type MarathonAuth, authorizationHeader, mayCarryAuth, normalizeBaseUrls } from './auth';
import { MarathonError, ROTATABLE, snippet } from './errors';
import type { MarathonMetrics } from './metrics';
import { checkAppResponse, checkAppsResponse, checkTasksResponse, parseJson } from './shape';
import type { App, Task } from './types';

export interface MarathonClientOptions extends MarathonAuth {
  /** Marathon base URLs (`BERTH_MARATHON_URLS`); tried in order, the one that answered stays first. */
  urls: string[];
  /** Deadline for a whole call (connect + answer), per URL tried. Default 10 000 ms. */
  timeoutMs?: number;
  logger?: Logger;
  metrics?: MarathonMetrics;
}

/** What `getApps()` embeds: tasks (with health results) and deployments. */
export const DEFAULT_APP_EMBED = ['apps.tasks', 'apps.deployments', 'apps.readiness'];

/** The REST calls berth makes (the interface tests fake). */
export interface MarathonApi {
  getApps(): Promise<App[]>;
  getApp(id: string): Promise<App>;
}

export class MarathonClient implements MarathonApi {
  private readonly bases: string[];
  private current = 0;
  private readonly http: AxiosInstance;
  private readonly auth?: string;
  private readonly timeoutMs: number;
  private readonly log: Logger;

  constructor(private readonly opts: MarathonClientOptions) {
    this.bases = normalizeBaseUrls(opts.urls);
    this.auth = authorizationHeader(opts);
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.log = opts.logger ?? silentLogger;
    const auth = this.auth;
    const bases = this.bases;
    this.http = axios.create({
      timeout: this.timeoutMs,
      responseType: 'text',
      transformResponse: [(d: unknown) => d],
      validateStatus: () => true,
      maxRedirects: 3,
      decompress: true,
      httpAgent: new http.Agent({ keepAlive: true, maxSockets: 8 }),
      httpsAgent: new https.Agent({ keepAlive: true, maxSockets: 8 }),
      headers: { Accept: 'application/json', ...(auth ? { Authorization: auth } : {}) },
      // follow-redirects drops Authorization when the port changes (standby → leader); put it back.
      beforeRedirect: (options, _res, req) => {
        const target = new URL(`${options.protocol}//${options.host ?? options.hostname}${options.path ?? ''}`);
        if (auth && mayCarryAuth(target, new URL(req.url), bases)) (options.headers as Record<string, string>).Authorization = auth;
      },
    });
  }

  /** The base URL calls go to first. */
  get baseUrl(): string {
    return this.bases[this.current];
  }

  get urls(): readonly string[] {
    return this.bases;
  }

  /** Every app with its tasks and health results (`GET /v2/apps?embed=apps.tasks…`). */
  async getApps(embed: string[] = DEFAULT_APP_EMBED): Promise<App[]> {
    const q = embed.map((e) => `embed=${encodeURIComponent(e)}`).join('&');
    return this.call('apps', `/v2/apps${q ? `?${q}` : ''}`, checkAppsResponse);
  }

  /** One app with tasks (`GET /v2/apps/{id}`); an unknown app is a `not_found` MarathonError. */
  async getApp(id: string): Promise<App> {
    const path = id.startsWith('/') ? id : `/${id}`;
    return this.call('app', `/v2/apps${path.split('/').map(encodeURIComponent).join('/')}`, checkAppResponse);
  }

  async getTasks(): Promise<Task[]> {
    return this.call('tasks', '/v2/tasks', checkTasksResponse);
  }

  /** `host:port` of the leader, or null when Marathon says there is none. */
  async getLeader(): Promise<string | null> {
    try {
      return await this.call('leader', '/v2/leader', (b, url) => {
        const leader = (b as { leader?: unknown } | null)?.leader;
        if (typeof leader !== 'string') throw new MarathonError('bad_response', 'expected {"leader":"host:port"}', url, 200);
        return leader;
      });
    } catch (e) {
      if (e instanceof MarathonError && e.kind === 'not_found') return null;
      throw e;
    }
  }

  /**
   * Moves the leader to the front when it is one of the configured URLs, so later calls and the
   * event stream skip a standby hop. Returns the leader's `host:port` (or null).
   */
  async preferLeader(): Promise<string | null> {
    const leader = await this.getLeader();
    if (!leader) return null;
    const idx = this.bases.findIndex((b) => new URL(b).host === leader);
    if (idx >= 0) this.current = idx;
    return leader;
  }

  /** Tries each base URL once, starting with the current one, until one answers well. */
  private async call<T>(endpoint: string, path: string, check: (body: unknown, url: string) => T): Promise<T> {
    let last: MarathonError | undefined;
    for (let i = 0; i < this.bases.length; i++) {
      const idx = (this.current + i) % this.bases.length;
      const url = `${this.bases[idx]}${path}`;
      const started = performance.now();
      try {
        const text = await this.fetchText(url);
        const result = check(parseJson(text, url), url);
        this.current = idx;
        this.opts.metrics?.requests.inc({ endpoint, outcome: 'ok' });
        return result;
      } catch (e) {
        last = e instanceof MarathonError ? e : new MarathonError('bad_response', (e as Error).message, url);
        this.opts.metrics?.requests.inc({ endpoint, outcome: last.kind });
        if (!ROTATABLE.has(last.kind)) throw last;
        this.log.warn({ url, kind: last.kind, err: last.message }, 'marathon call failed; trying the next URL');
      } finally {
        this.opts.metrics?.requestDuration.observe({ endpoint }, (performance.now() - started) / 1000);
      }
    }
    throw last as MarathonError;
  }

  private async fetchText(url: string): Promise<string> {
    let res;
    try {
      // `timeout` is an idle timer on the socket; the signal bounds the whole call (slow trickle too).
      res = await this.http.get<string>(url, { signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (e) {
      throw toMarathonError(e, url, this.timeoutMs);
    }
    const body = typeof res.data === 'string' ? res.data : String(res.data ?? '');
    if (res.status === 200) {
      const type = String(res.headers['content-type'] ?? '');
      if (type && !type.includes('json')) throw new MarathonError('bad_response', `content-type ${type}: ${snippet(body)}`, url, 200);
      return body;
    }
    const detail = `HTTP ${res.status}: ${snippet(body)}`;
    if (res.status === 401 || res.status === 403) throw new MarathonError('unauthorized', detail, url, res.status);
    if (res.status === 404) throw new MarathonError('not_found', detail, url, res.status);
    if (res.status >= 500) throw new MarathonError('server_error', detail, url, res.status);
    throw new MarathonError('http_status', detail, url, res.status);
  }
}

function toMarathonError(e: unknown, url: string, timeoutMs: number): MarathonError {
  if (isAxiosError(e)) {
    if (e.code === 'ECONNABORTED' || e.code === 'ETIMEDOUT' || e.code === 'ERR_CANCELED') {
      return new MarathonError('timeout', `no answer within ${timeoutMs} ms`, url);
    }
    if (e.code === 'ERR_FR_TOO_MANY_REDIRECTS') return new MarathonError('http_status', 'too many redirects', url);
    return new MarathonError('connect', `${e.code ?? 'error'}: ${e.message}`, url);
  }
  return new MarathonError('connect', (e as Error).message, url);
}
