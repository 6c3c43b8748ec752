/** What the Lua admin locations report about the dict (nginx-templates/lua/berth_balancer.lua). */
export interface DictState {
  /** Made when the dict was created: a new value means Nginx restarted with an empty dict. */
  boot: string;
  /** Bumped by every write. */
  version: number;
  /** Upstream entries held. */
  upstreams: number;
}

/** Talks to the admin locations over loopback HTTP. */
export interface LuaAdmin {
  state(): Promise<DictState>;
  push(body: string, full: boolean): Promise<DictState>;
}

/** `8099`, `127.0.0.1:8099` or `[::1]:8099` → the admin base URL (a bare port means 127.0.0.1). */
export function adminBaseUrl(listen: string): string {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[0-9.]+):)?(\d{1,5})$/.exec(listen.trim());
  if (!m) throw new Error(`invalid admin listen ${JSON.stringify(listen)}: expected port, addr:port or [v6]:port`);
  const host = !m[1] || m[1] === '0.0.0.0' ? '127.0.0.1' : m[1] === '[::]' ? '[::1]' : m[1];
  return `http://${host}:${m[2]}`;
}

function parseState(text: string): DictState {
  const v = JSON.parse(text) as Partial<DictState>;
  if (typeof v.boot !== 'string' || typeof v.version !== 'number' || typeof v.upstreams !== 'number') {
    throw new Error(`unexpected answer from the Nginx admin server: ${text.slice(0, 200)}`);
  }
  return { boot: v.boot, version: v.version, upstreams: v.upstreams };
}

/** The admin client over `fetch`; every call is limited to `timeoutMs`. */
export function httpLuaAdmin(baseUrl: string, timeoutMs: number): LuaAdmin {
  const call = async (path: string, init: RequestInit): Promise<DictState> => {
    const res = await fetch(`${baseUrl}${path}`, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    if (!res.ok) throw new Error(`Nginx admin ${path}: HTTP ${res.status} ${text.trim().slice(0, 200)}`);
    return parseState(text);
  };
  return {
    state: () => call('/berth/state', { method: 'GET' }),
    push: (body, full) => call(`/berth/endpoints${full ? '?mode=full' : ''}`, { method: 'POST', body, headers: { 'content-type': 'text/plain' } }),
  };
}
