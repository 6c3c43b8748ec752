import { serverNamesHashSizes, type HashSizes } from './names-hash';

/** The file berth writes into `BERTH_NGINX_DIR`, to be included in `http {}` before the service files. */
export const HTTP_CONF_PATH = 'http.conf';
/** The admin location answering the generation id of the configuration Nginx runs. */
export const GENERATION_LOCATION = '/berth/generation';

/** What another part of berth adds to http.conf (the shared memory and admin endpoints of a balancer, …). */
export interface HttpConfExtras {
  /** http-context directives (lua_shared_dict, init_by_lua…) */
  httpContext: string;
  /** locations added to the admin server */
  adminLocations: string;
}

const indent = (text: string, by: string) =>
  text
    .split('\n')
    .map((l) => (l.trim() === '' ? '' : `${by}${l}`))
    .join('\n');

/**
 * berth's http-context file: server name hash sizes for the names it renders, the WebSocket
 * `$connection_upgrade` map the service template uses, and the admin server that answers the
 * generation id (omitted when `adminListen` is empty). Pure; `generation` must be `[0-9a-z]`. The hash sizes
 * come from the names, or are given (computed by the caller, see NameCensus).
 */
export function renderHttpConf(
  input: { generation: string; adminListen: string; extras?: HttpConfExtras } & ({ serverNames: readonly string[] } | { sizes: HashSizes }),
): string {
  if (!/^[0-9a-z]*$/.test(input.generation)) throw new Error(`invalid generation id ${JSON.stringify(input.generation)}`);
  const { bucketSize, maxSize } = 'sizes' in input ? input.sizes : serverNamesHashSizes(input.serverNames);
  const out = [
    '# berth: http context; generated, do not edit. Include it in http {} before the service files.',
    `# generation ${input.generation}`,
    '',
    '# Sized for the server names berth renders (docs/nginx.md "http.conf").',
    `server_names_hash_bucket_size ${bucketSize};`,
    `server_names_hash_max_size ${maxSize};`,
    '',
    '# WebSocket: Connection is "upgrade" when the client asks for an upgrade. Otherwise it is empty,',
    '# and Nginx then sends no Connection header at all: an upstream connection stays reusable for',
    '# `keepalive` (a "close" here, as some setups use, would end every upstream connection after one',
    '# request and defeat the keepalive pool of the service template).',
    'map $http_upgrade $connection_upgrade {',
    '    default upgrade;',
    "    ''      '';",
    '}',
  ];
  if (input.extras?.httpContext.trim()) out.push('', input.extras.httpContext.trimEnd());
  if (input.adminListen.trim() !== '') {
    out.push(
      '',
      '# berth reads the generation back after every reload (loopback only).',
      'server {',
      `    listen ${input.adminListen.trim()};`,
      '    server_name berth-admin;',
      '    access_log off;',
      // berth holds one idle connection across a reload: the old worker closing it proves it
      // stopped accepting. It must outlive the reload command and the confirmation bound.
      '    keepalive_timeout 600s;',
      `    location = ${GENERATION_LOCATION} {`,
      '        default_type text/plain;',
      `        return 200 "${input.generation}\\n";`,
      '    }',
    );
    if (input.extras?.adminLocations.trim()) out.push(indent(input.extras.adminLocations.trimEnd(), '    '));
    out.push('    location / {', '        return 404;', '    }', '}');
  }
  return `${out.join('\n')}\n`;
}
