/** `nginx -t` on rendered files in a throwaway configuration (http files in `http {}`, tcp files in `stream {}`). */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { DynamicMode } from '../../src/nginx/template-context';
import { NGINX_MODULES } from '../support/tools';
import { tmpDir } from './helpers';

export function nginxT(mode: DynamicMode, files: Array<{ content: string; tcp: boolean }>): { status: number | null; stderr: string } {
  const prefix = tmpDir('berth-options-t-');
  fs.mkdirSync(path.join(prefix, 'http'));
  fs.mkdirSync(path.join(prefix, 'tcp'));
  files.forEach((f, i) => fs.writeFileSync(path.join(prefix, f.tcp ? 'tcp' : 'http', `${i}.conf`), f.content));
  const modules = [
    fs.existsSync(`${NGINX_MODULES}/ngx_stream_module.so`) ? `load_module ${NGINX_MODULES}/ngx_stream_module.so;` : '',
    mode === 'lua' ? `load_module ${NGINX_MODULES}/ndk_http_module.so;\nload_module ${NGINX_MODULES}/ngx_http_lua_module.so;` : '',
  ].join('\n');
  const conf = `${modules}
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log;
events {}
http {
    map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
    server_names_hash_bucket_size 128;
    server_names_hash_max_size 4096;
    include ${prefix}/http/*.conf;
}
stream { include ${prefix}/tcp/*.conf; }
`;
  fs.writeFileSync(path.join(prefix, 'nginx.conf'), conf);
  const r = spawnSync('nginx', ['-t', '-q', '-p', `${prefix}/`, '-c', path.join(prefix, 'nginx.conf')], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}
