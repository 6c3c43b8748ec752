import { CliExit, EXIT } from './context';

/** Options shared by commands that talk to a running berth (`--api`, `--token`). */
export interface ApiOptions {
  api?: string;
  token?: string;
}

/** The API base URL: `--api`, else BERTH_API_URL, else from BERTH_HTTP_ADDR, else 127.0.0.1:8080. */
export function apiBase(opts: ApiOptions, env: Record<string, string | undefined>): string {
  if (opts.api) return opts.api.replace(/\/+$/, '');
  if (env.BERTH_API_URL) return env.BERTH_API_URL.replace(/\/+$/, '');
  const addr = env.BERTH_HTTP_ADDR?.trim() || '127.0.0.1:8080';
  const hostPort = /^\d+$/.test(addr) ? `127.0.0.1:${addr}` : addr;
  return `http://${hostPort.replace(/^0\.0\.0\.0:/, '127.0.0.1:').replace(/^\[::\]:/, '[::1]:')}`;
}

export interface ApiResult<T> {
  status: number;
  body: T;
}

/**
 * Calls the berth API. Connection failures and API errors become CliExit(1) with the API's
 * `code: message`, so scripts get a stable first word to match on.
 */
export async function callApi<T>(
  opts: ApiOptions,
  env: Record<string, string | undefined>,
  method: string,
  path: string,
  body?: unknown,
  { allow = [] as number[] } = {},
): Promise<ApiResult<T>> {
  const base = apiBase(opts, env);
  const token = opts.token ?? env.BERTH_API_TOKEN;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(30000) });
  } catch (e) {
    throw new CliExit(
      EXIT.FAILURE,
      `cannot reach berth at ${base}: ${(e as Error).cause ?? (e as Error).message} (is \`berth run\` up? set --api or BERTH_HTTP_ADDR)`,
    );
  }
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* non-JSON body: keep text */
  }
  if (res.status >= 400 && !allow.includes(res.status)) {
    const e = parsed as { code?: string; message?: string };
    const usage = res.status === 400 || res.status === 413;
    throw new CliExit(usage ? EXIT.USAGE : EXIT.FAILURE, e?.code ? `${e.code}: ${e.message}` : `HTTP ${res.status}: ${text.slice(0, 200)}`);
  }
  return { status: res.status, body: parsed as T };
}
