/**
 * Marathon REST client (axios): a deadline on every call, Basic or DC/OS token auth, rotation
 * through several base URLs on connection failure, timeout, 5xx or a bad answer, 302s followed
 * with credentials kept. Answers are read as streams under a byte limit (`maxResponseBytes`), and
 * `/v2/apps` is parsed app by app, keeping only what berth reads (project.ts). Every failure is
 * a `MarathonError`.
 */
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import axios, { type AxiosInstance, isAxiosError } from 'axios';
import type { Logger } from 'pino';
import { silentLogger } from '../log';
import { type MarathonAuth, authorizationHeader, mayCarryAuth, normalizeBaseUrls } from './auth';
import { answerTooLarge, MAX_APP_BYTES, readApps, readHead, readText } from './body';
import { MarathonError, ROTATABLE, snippet } from './errors';
import { DEFAULT_MAX_RESPONSE_BYTES } from './limits';
import type { MarathonMetrics } from './metrics';
import type { LabelFilter } from './project';
import { projectApp } from './project';
import { checkAppResponse, parseJson } from './shape';
import type { App } from './types';

export interface MarathonClientOptions extends MarathonAuth {
  /** Marathon base URLs (`BERTH_MARATHON_URLS`); tried in order, the one that answered stays first. */
  urls: string[];
  /** Deadline until an answer starts, and for any pause while it is read, per URL tried. Default 10 000 ms. */
  timeoutMs?: number;
  /** Largest answer read (BERTH_MARATHON_MAX_RESPONSE_BYTES); more is a `too_large` failure. */
  maxResponseBytes?: number;
  /** Keep only labels starting with this (BERTH_LABEL_PREFIX); absent: every label. */
  labelPrefix?: string;
  logger?: Logger;
  metrics?: MarathonMetrics;
}

/** What `getApps()` embeds: tasks (with health results), deployments and readiness results. */
const APP_EMBED = ['apps.tasks', 'apps.deployments', 'apps.readiness'];
/** A whole answer must have arrived (and been parsed) within this: 5 minutes. */
export const BODY_DEADLINE_MS = 300_000;
/** How much of an error page is read, for the message. */
const ERROR_BODY_BYTES = 4096;

export class MarathonClient {
  private readonly bases: string[];
  private current = 0;
  private readonly http: AxiosInstance;
  private readonly auth?: string;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly keepLabel?: LabelFilter;
  private readonly log: Logger;

  constructor(private readonly opts: MarathonClientOptions) {
    this.bases = normalizeBaseUrls(opts.urls);
    this.auth = authorizationHeader(opts);
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.maxBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    const prefix = opts.labelPrefix;
    if (prefix !== undefined) this.keepLabel = (k) => k.startsWith(prefix);
    this.log = opts.logger ?? silentLogger;
    const auth = this.auth;
    const bases = this.bases;
    this.http = axios.create({
      timeout: this.timeoutMs,
      responseType: 'stream',
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

  /** Every app with its tasks and health results (`GET /v2/apps?embed=apps.tasks…`), streamed. */
  async getApps(): Promise<App[]> {
    const q = APP_EMBED.map((e) => `embed=${encodeURIComponent(e)}`).join('&');
    return this.call('apps', `/v2/apps?${q}`, (body, url) => readApps(body, { url, limit: this.maxBytes, keepLabel: this.keepLabel }));
  }

  /** One app with tasks (`GET /v2/apps/{id}`); an unknown app is a `not_found` MarathonError. */
  async getApp(id: string): Promise<App> {
    const path = id.startsWith('/') ? id : `/${id}`;
    // One app is held whole while parsed: the per-app bound of the streamed list applies.
    const limit = Math.min(this.maxBytes, MAX_APP_BYTES);
    // Tasks, counts and deployments come by default; readiness results only when asked for.
    return this.call('app', `/v2/apps${path.split('/').map(encodeURIComponent).join('/')}?embed=app.readiness`, async (body, url) =>
      projectApp(checkAppResponse(parseJson(await readText(body, limit, url), url), url), this.keepLabel),
    );
  }

  /** Tries each base URL once, starting with the current one, until one answers well. */
  private async call<T>(endpoint: string, path: string, read: (body: AsyncIterable<Buffer>, url: string) => Promise<T>): Promise<T> {
    let last: MarathonError | undefined;
    for (let i = 0; i < this.bases.length; i++) {
      const idx = (this.current + i) % this.bases.length;
      const url = `${this.bases[idx]}${path}`;
      const started = performance.now();
      try {
        const result = await this.fetch(url, read);
        this.current = idx;
        this.opts.metrics?.requests.inc({ endpoint, outcome: 'ok' });
        return result;
      } catch (e) {
        last = e instanceof MarathonError ? e : new MarathonError('bad_response', (e as Error).message, url);
        this.opts.metrics?.requests.inc({ endpoint, outcome: last.kind });
        if (last.kind === 'too_large') this.opts.metrics?.oversized.inc({ what: 'answer' });
        if (!ROTATABLE.has(last.kind)) throw last;
        this.log.warn({ url, kind: last.kind, err: last.message }, 'marathon call failed; trying the next URL');
      } finally {
        this.opts.metrics?.requestDuration.observe({ endpoint }, (performance.now() - started) / 1000);
      }
    }
    throw last as MarathonError;
  }

  /**
   * One GET: a 200 JSON answer goes to `read` as a byte stream; anything else is a typed error.
   * Deadlines: `timeoutMs` until the answer starts, then `timeoutMs` without a byte while it is
   * read (a stalled or trickling body), and BODY_DEADLINE_MS for the whole body: a large answer
   * takes longer than `timeoutMs` to arrive and be parsed, and must not be cut for that.
   */
  private async fetch<T>(url: string, read: (body: AsyncIterable<Buffer>, url: string) => Promise<T>): Promise<T> {
    const abort = new AbortController();
    let why = `no answer within ${this.timeoutMs} ms`;
    let timer = setTimeout(() => abort.abort(), this.timeoutMs);
    const expireIn = (ms: number, reason: string): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        why = reason;
        abort.abort();
      }, ms);
    };
    let body: Readable | undefined;
    try {
      const res = await this.http.get<Readable>(url, { signal: abort.signal });
      body = res.data;
      const deadline = setTimeout(() => {
        why = `answer not complete within ${BODY_DEADLINE_MS} ms`;
        abort.abort();
      }, BODY_DEADLINE_MS);
      try {
        const idle = () => expireIn(this.timeoutMs, `no byte for ${this.timeoutMs} ms while reading the answer`);
        idle();
        const chunks = watched(body, idle);
        if (res.status === 200) {
          const type = String(res.headers['content-type'] ?? '');
          if (type && !type.includes('json'))
            throw new MarathonError('bad_response', `content-type ${type}: ${snippet(await readHead(chunks, ERROR_BODY_BYTES))}`, url, 200);
          const declared = Number(res.headers['content-length'] ?? NaN);
          if (declared > this.maxBytes) throw answerTooLarge(url, this.maxBytes, `the answer (Content-Length ${declared})`);
          return await read(chunks, url);
        }
        const detail = `HTTP ${res.status}: ${snippet(await readHead(chunks, ERROR_BODY_BYTES))}`;
        if (res.status === 401 || res.status === 403) throw new MarathonError('unauthorized', detail, url, res.status);
        if (res.status === 404) throw new MarathonError('not_found', detail, url, res.status);
        if (res.status >= 500) throw new MarathonError('server_error', detail, url, res.status);
        throw new MarathonError('http_status', detail, url, res.status);
      } finally {
        clearTimeout(deadline);
      }
    } catch (e) {
      if (e instanceof MarathonError) throw e;
      // One of our deadlines fired: whatever the abort surfaced as (axios' cancel, or the body
      // stream's plain "aborted" when it came mid-body), the failure is that deadline.
      if (abort.signal.aborted) throw new MarathonError('timeout', why, url);
      throw toMarathonError(e, url, why);
    } finally {
      clearTimeout(timer);
      // Stops a body read only in part (an error page, an answer over the limit): the socket goes.
      body?.destroy();
    }
  }
}

/** The body's chunks, calling `onChunk` for each (resets the idle deadline). */
async function* watched(body: Readable, onChunk: () => void): AsyncGenerator<Buffer> {
  for await (const chunk of body) {
    onChunk();
    yield chunk as Buffer;
  }
}

/** `timedOut`: what the deadline that fired (if any) was about. */
function toMarathonError(e: unknown, url: string, timedOut: string): MarathonError {
  if (isAxiosError(e)) {
    if (e.code === 'ECONNABORTED' || e.code === 'ETIMEDOUT' || e.code === 'ERR_CANCELED') {
      return new MarathonError('timeout', timedOut, url);
    }
    if (e.code === 'ERR_FR_TOO_MANY_REDIRECTS') return new MarathonError('http_status', 'too many redirects', url);
    return new MarathonError('connect', `${e.code ?? 'error'}: ${e.message}`, url);
  }
  return new MarathonError('connect', (e as Error).message, url);
}
