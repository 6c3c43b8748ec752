import fs from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { GENERATION_LOCATION } from './http-conf';

/** Fresh-connection answers in a row that must show the new generation. */
const STREAK = 3;
/**
 * Without a connection held across the reload (the previous configuration had no admin server),
 * how long the new generation must keep answering before old workers count as gone. The Nginx
 * master starts the new workers, waits 100 ms, and only then tells the old ones to stop accepting;
 * three times that leaves room for a busy machine.
 */
const SETTLE_MS = 300;
const POLL_MS = 20;
const REQUEST_TIMEOUT_MS = 1000;
const LOG_TAIL_BYTES = 4096;
const LOG_TAIL_LINES = 12;

export interface ConfirmOptions {
  /** `host:port` or `[v6]:port` of the admin server in http.conf. */
  adminListen: string;
  timeoutMs: number;
  /** Nginx's error log, read for the likely cause when confirmation fails (optional). */
  errorLog?: string;
}

export type ConfirmResult = { ok: true; ms: number } | { ok: false; ms: number; error: string; logTail: string | null };

type Answer = { status: number; body: string } | { error: string };

function splitListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(listen.trim());
  if (!m) throw new Error(`admin listen ${JSON.stringify(listen)} is not host:port`);
  return { host: m[1] ?? m[2], port: Number(m[3]) };
}

/** GET the generation over a new connection that is closed afterwards (never a pooled one). */
function fetchGeneration(host: string, port: number): Promise<Answer> {
  return new Promise((resolve) => {
    const req = http.request(
      { host, port, path: GENERATION_LOCATION, agent: false, headers: { host: 'berth-admin', connection: 'close' }, timeout: REQUEST_TIMEOUT_MS },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d.length + body.length <= 256 ? d : ''));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body.trim() }));
        res.on('error', (err) => resolve({ error: err.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end();
  });
}

/** An idle keep-alive connection to the admin server, served by a worker of the running generation. */
interface Held {
  socket: net.Socket;
  closed: boolean;
  /** Set when the reload command starts: a close before it proves nothing. */
  reloadStarted: boolean;
  closedAfterReload: boolean;
  /** What the running generation answered on it. */
  answered: string;
}

/**
 * Reads the generation id back from Nginx after a reload. The reload command returns as soon as
 * Nginx got the signal; the master then starts workers with the new configuration, and old
 * workers keep accepting new connections for a while (≥ 100 ms) until the master tells them to
 * stop. A new-generation answer therefore only proves new workers exist. What proves the old ones
 * stopped accepting is an old worker closing its idle connections, which it does in the same step
 * as closing its listening sockets; the master tells every old worker at once. So before the
 * reload berth opens one keep-alive connection (served by an old worker) and leaves it idle; a sync
 * is confirmed when that connection was closed by Nginx and then several fresh connections in a
 * row answered the new generation. When no such connection could be held (the previous
 * configuration had no admin server), or the running workers already answered this generation
 * before the reload, the new generation must keep answering for `SETTLE_MS`.
 */
export class GenerationConfirmer {
  private held: Held | null = null;
  private readonly host: string;
  private readonly port: number;

  constructor(private readonly opts: ConfirmOptions) {
    ({ host: this.host, port: this.port } = splitListen(opts.adminListen));
  }

  /** Before the reload command: hold an idle connection to the running generation (best effort). */
  async arm(): Promise<void> {
    this.disarm();
    this.held = await new Promise<Held | null>((resolve) => {
      const socket = net.connect(this.port, this.host);
      const held: Held = { socket, closed: false, reloadStarted: false, closedAfterReload: false, answered: '' };
      let buf = '';
      let done = false;
      const finish = (ok: boolean) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (!ok) socket.destroy();
        resolve(ok ? held : null);
      };
      const timer = setTimeout(() => finish(false), REQUEST_TIMEOUT_MS);
      socket.setEncoding('utf8');
      socket.on('connect', () => socket.write(`GET ${GENERATION_LOCATION} HTTP/1.1\r\nHost: berth-admin\r\n\r\n`));
      socket.on('data', (d: string) => {
        if (done) return; // nothing more is expected; the connection only waits to be closed
        buf += d;
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const length = /\r\ncontent-length:\s*(\d+)/i.exec(buf.slice(0, end));
        const keptAlive = !/\r\nconnection:\s*close/i.test(buf.slice(0, end));
        if (length && buf.length >= end + 4 + Number(length[1])) {
          held.answered = buf.slice(end + 4, end + 4 + Number(length[1])).trim();
          finish(keptAlive);
        } else if (!length) finish(false);
      });
      socket.on('error', () => finish(false));
      socket.on('close', () => {
        held.closed = true;
        if (held.reloadStarted) held.closedAfterReload = true;
        finish(false);
      });
    });
  }

  /** The reload command is about to run. */
  reloading(): void {
    if (this.held && !this.held.closed) this.held.reloadStarted = true;
    else this.held = null;
  }

  disarm(): void {
    this.held?.socket.destroy();
    this.held = null;
  }

  /** Waits (bounded) until Nginx answers `generation` on new connections and old workers stopped accepting. */
  async confirm(generation: string): Promise<ConfirmResult> {
    const started = Date.now();
    const held = this.held && this.held.reloadStarted ? this.held : null;
    let streak = 0;
    let newSince: number | null = null;
    let last: Answer | null = null;
    try {
      for (;;) {
        const answer = await fetchGeneration(this.host, this.port);
        last = answer;
        const now = Date.now();
        if ('body' in answer && answer.status === 200 && answer.body === generation) {
          streak++;
          newSince ??= now;
        } else {
          streak = 0;
          newSince = null;
        }
        // A held connection that already answered this generation (Nginx loaded it before, e.g.
        // by an earlier reload berth did not see confirmed) proves nothing by staying open.
        const settled = newSince !== null && now - newSince >= SETTLE_MS && (!held || held.answered === generation);
        const oldGone = (held?.closedAfterReload ?? false) || settled;
        if (streak >= STREAK && oldGone) return { ok: true, ms: now - started };
        if (now - started >= this.opts.timeoutMs) break;
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    } finally {
      this.disarm();
    }
    const logTail = await this.logTail();
    return { ok: false, ms: Date.now() - started, error: this.explain(generation, last, held, logTail), logTail };
  }

  private explain(generation: string, last: Answer | null, held: Held | null, logTail: string | null): string {
    const head = `Nginx did not confirm generation ${generation} within ${this.opts.timeoutMs} ms`;
    const logLine = logTail
      ?.split('\n')
      .reverse()
      .find((l) => /\[(emerg|alert|crit)\]/.test(l));
    const fromLog = logLine ? `; the error log says: ${logLine.trim()}` : this.opts.errorLog ? '' : ' (set BERTH_NGINX_ERROR_LOG to see the error log here)';
    if (!last || 'error' in last) {
      return `${head}: the admin listener ${this.opts.adminListen} does not answer (${last && 'error' in last ? last.error : 'no answer'}); is http.conf included in nginx.conf's http {} and is Nginx running?${fromLog}`;
    }
    if (last.status !== 200) {
      return `${head}: ${this.opts.adminListen} answers ${last.status} for ${GENERATION_LOCATION}; is http.conf included, and is that address used by another server?${fromLog}`;
    }
    if (last.body === generation) {
      return `${head}: the new generation answers, but the old workers were still accepting connections${held ? ' (their idle connection stayed open)' : ''}${fromLog}`;
    }
    return `${head}: Nginx still serves generation ${last.body.slice(0, 40) || '(empty)'}; the reload did not take effect (the reload command did not signal this Nginx, or Nginx could not apply the new configuration, e.g. a listen port it could not bind)${fromLog}`;
  }

  /** The last lines of the error log, or null when not configured or unreadable. */
  private async logTail(): Promise<string | null> {
    if (!this.opts.errorLog) return null;
    let fh: fs.FileHandle | null = null;
    try {
      fh = await fs.open(this.opts.errorLog, 'r');
      const { size } = await fh.stat();
      const length = Math.min(size, LOG_TAIL_BYTES);
      const buf = Buffer.alloc(length);
      await fh.read(buf, 0, length, size - length);
      const lines = buf
        .toString('utf8')
        .split('\n')
        .filter((l) => l.trim() !== '');
      if (size > length) lines.shift(); // the first line is probably cut
      return lines.slice(-LOG_TAIL_LINES).join('\n');
    } catch {
      return null;
    } finally {
      await fh?.close();
    }
  }
}
