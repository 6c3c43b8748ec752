/** What to change for each problem code (docs/labels.md has the full contract). */
const HINTS: Record<string, string> = {
  LABEL_DOMAIN_INVALID: 'Fix berth.domain: comma-separated DNS names (letters, digits, hyphens, dots), at most 253 characters, no spaces or other characters.',
  LABEL_PORT_INVALID: 'Set berth.port to a port number (1–65535) or the name of a declared port.',
  PORT_NOT_FOUND: 'Declare the port in portMappings/portDefinitions, or point berth.port at one that is declared.',
  LABEL_IP_INVALID: 'Set berth.ip to one IPv4 or IPv6 address (or auto / auto:<pool> and deploy through /v1/apps/prepare).',
  FIXED_IP_MISMATCH: 'Make berth.ip and the Docker ip parameter the same address.',
  FIXED_IP_UNRESOLVED: 'Deploy through POST /v1/apps/prepare so berth.ip=auto becomes a literal address.',
  FIXED_IP_MULTIPLE_INSTANCES: 'A fixed IP fits one instance: scale to 1 or drop berth.ip.',
  FIXED_IP_CONFLICT: 'Another app holds this address in a pool: allocate one for this app (Pools view) and use it.',
  LABEL_ENV_INVALID: 'Set berth.env to 1–32 lower-case letters, digits or hyphens, e.g. integration.',
  LABEL_PROXY_INVALID: 'Set berth.proxy to http, tcp or none.',
  LABEL_LISTEN_INVALID: 'Set berth.listen to a port number 1–65535.',
  LABEL_LISTEN_REQUIRED: 'berth.proxy=tcp needs berth.listen: the port Nginx listens on.',
  LABEL_DNS_INVALID: 'Set berth.dns to direct, proxy or none.',
  DOMAIN_CONFLICT: 'Another (older) app claims this domain in this environment: rename the domain or remove it from one of the apps.',
  LISTEN_CONFLICT: 'Another app uses this berth.listen port in this environment: choose another port.',
  nginx_config_rejected:
    "nginx -t rejected this service's file: check its labels and the Nginx error in the details; fixed labels are retried on the next sync.",
  nginx_invalid_service: 'The service cannot be rendered for Nginx: check its labels against the label contract.',
  nginx_listen_conflict: 'Two services want the same Nginx listen port: change berth.listen on one.',
  nginx_render_failed: 'The Nginx template failed for this service: check the template folder and the details.',
};

export function hintFor(code: string): string {
  return HINTS[code] ?? 'See docs/labels.md for this code.';
}
