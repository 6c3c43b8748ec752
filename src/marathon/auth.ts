/** Marathon credentials → the `Authorization` header value (OSS Basic, or DC/OS `token=`). */

export interface MarathonAuth {
  username?: string;
  password?: string;
  /** DC/OS service token: sent as `Authorization: token=<JWT>`. Wins over Basic. */
  token?: string;
}

export function authorizationHeader(auth: MarathonAuth): string | undefined {
  if (auth.token) return `token=${auth.token}`;
  if (auth.username !== undefined && auth.username !== '') {
    return `Basic ${Buffer.from(`${auth.username}:${auth.password ?? ''}`).toString('base64')}`;
  }
  return undefined;
}

/** Base URLs without trailing slash; throws on anything that is not http(s). */
export function normalizeBaseUrls(urls: string[]): string[] {
  if (urls.length === 0) throw new Error('at least one Marathon URL is required');
  return urls.map((u) => {
    const parsed = new URL(u);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`not an http(s) URL: ${u}`);
    return u.replace(/\/+$/, '');
  });
}

/**
 * Whether credentials may follow a redirect to `target`: only to a configured Marathon node or
 * the same host (a standby sending us to its leader), never to an arbitrary site.
 */
export function mayCarryAuth(target: URL, from: URL, bases: string[]): boolean {
  if (target.hostname === from.hostname) return true;
  return bases.some((b) => new URL(b).host === target.host);
}
