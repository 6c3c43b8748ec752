/**
 * What a render produces: one file per service (or shared domain), the services it refused and
 * why, and the two things read back from a file later (its server count, its definition key).
 * Its own module because the sync's later steps (plan, exclusions, problems, port check,
 * http.conf) use these without depending on how files are rendered.
 */
import type { Service } from '../model/types';
import type { PROBLEM_CODES } from '../model/problems';

/** A rendered file, addressed relative to the Nginx dir. */
export interface RenderedFile {
  path: string;
  env: string;
  appId: string;
  content: string;
  /** Upstream servers in this file (for the mass-removal guard). */
  servers: number;
  /** Changes whenever the service definition changes; used to retry a rejected service. */
  definitionKey: string;
}

/** A service that was not rendered, and why. */
export interface RenderRejection {
  env: string;
  appId: string;
  code:
    | typeof PROBLEM_CODES.NGINX_INVALID_SERVICE
    | typeof PROBLEM_CODES.NGINX_RENDER_FAILED
    | typeof PROBLEM_CODES.NGINX_LISTEN_CONFLICT
    | typeof PROBLEM_CODES.NGINX_PORT_IN_USE;
  message: string;
  /** The service's file, when its names are valid: its previous file is kept as it is. */
  path: string | null;
}

export interface RenderResult {
  files: RenderedFile[];
  rejected: RenderRejection[];
}

const HEADER = /^# berth: .*\bservers=(\d+)/m;

/** Upstream servers recorded in a file's header by `renderServices`; 0 for foreign files. */
export function serversInFile(content: string): number {
  const m = HEADER.exec(content);
  return m ? Number(m[1]) : 0;
}

/** Stable key of everything but the endpoints; changes when the app definition changes. */
export function definitionKey(s: Service): string {
  const { endpoints: _endpoints, ...definition } = s;
  return JSON.stringify(definition);
}
