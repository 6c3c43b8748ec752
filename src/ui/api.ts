/** The API client of the page: same origin, JSON, bearer token from session storage. */
const TOKEN_KEY = 'berth.token';

export function token(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}
export function setToken(t: string | null): void {
  if (t) sessionStorage.setItem(TOKEN_KEY, t);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** An API error with its stable code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Called on any 401: the page drops everything and shows the token prompt. */
let onUnauthorized: () => void = () => undefined;
export function whenUnauthorized(fn: () => void): void {
  onUnauthorized = fn;
}

/** `accept` lists non-2xx statuses whose JSON body is the answer (e.g. 503 from /readyz). */
export async function api<T>(method: string, path: string, body?: unknown, accept: number[] = []): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const t = token();
  if (t) headers.authorization = `Bearer ${t}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON (a proxy's error page): reported below with the status
  }
  if (!res.ok && !accept.includes(res.status)) {
    const e = (json ?? {}) as { code?: string; message?: string };
    if (res.status === 401) onUnauthorized();
    throw new ApiError(res.status, e.code ?? `HTTP_${res.status}`, e.message ?? `${method} ${path}: HTTP ${res.status}`);
  }
  return json as T;
}

export const get = <T>(path: string) => api<T>('GET', path);

/** `encodeURIComponent` for path segments (app ids carry slashes). */
export const seg = encodeURIComponent;
