import path from 'node:path';
import { shippedTemplatesDir } from '../../config/templates';
import type { HttpConfExtras } from '../http-conf';

export interface LuaExtrasOptions {
  /** Folder holding `berth_balancer.lua` (default: the one shipped in nginx-templates/lua). */
  luaDir?: string;
  /** Size of the endpoint dict; about 150 bytes per upstream with a few endpoints (default 32m). */
  dictSize?: string;
  /** Largest admin request body (a full push of every upstream; default 64m). */
  maxBody?: string;
}

/** Only loopback clients may write endpoints, whatever the admin server listens on. */
const LOOPBACK_ONLY = 'allow 127.0.0.1; allow ::1; deny all;';

/** Sizes as Nginx writes them (`32m`, `512k`, `1048576`): refused otherwise, since they go into the config verbatim. */
const SIZE = /^[1-9][0-9]{0,9}[km]?$/;

/** The Nginx lines `BERTH_NGINX_DYNAMIC=lua` needs: the shared dicts, the Lua module, the admin locations. */
export function luaHttpExtras(opts: LuaExtrasOptions = {}): HttpConfExtras {
  const luaDir = opts.luaDir ?? path.join(shippedTemplatesDir(), 'lua');
  const dictSize = opts.dictSize ?? '32m';
  const maxBody = opts.maxBody ?? '64m';
  for (const [name, v] of [
    ['dictSize', dictSize],
    ['maxBody', maxBody],
  ])
    if (!SIZE.test(v)) throw new Error(`luaHttpExtras: ${name} ${JSON.stringify(v)} is not an Nginx size`);
  if (/["\\;{}\s$]/.test(luaDir)) throw new Error(`luaHttpExtras: Lua folder ${JSON.stringify(luaDir)} contains characters Nginx would misread`);
  const httpContext = [
    `lua_package_path "${luaDir}/?.lua;;";`,
    `lua_shared_dict berth_endpoints ${dictSize};`,
    'lua_shared_dict berth_failed 1m;',
    'init_by_lua_block { berth_balancer = require("berth_balancer"); berth_balancer.init() }',
  ].join('\n');
  // The body stays in memory up to its limit (no temp file per push).
  const adminLocations = [
    `location = /berth/endpoints { ${LOOPBACK_ONLY} client_max_body_size ${maxBody}; client_body_buffer_size ${maxBody}; content_by_lua_block { berth_balancer.admin_push() } }`,
    `location = /berth/state { ${LOOPBACK_ONLY} content_by_lua_block { berth_balancer.admin_state() } }`,
  ].join('\n');
  return { httpContext, adminLocations };
}
