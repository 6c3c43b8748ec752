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
  LABEL_TIMEOUT_INVALID: 'Set berth.timeout.connect to whole seconds 1–60 and berth.timeout.read to 1–3600 (digits only, e.g. 30).',
  LABEL_BODY_MAX_INVALID: 'Set berth.body.max to a size from 1 byte to 1g: digits with an optional k, m or g, e.g. 10m.',
  LABEL_ALLOW_INVALID: 'Set berth.allow to 1–64 comma-separated addresses or CIDRs with host bits zero, e.g. 10.0.0.0/8,192.0.2.7.',
  LABEL_STICKY_INVALID: 'Set berth.sticky to off, cookie or ip.',
  LABEL_NOT_FOR_TCP:
    'berth.timeout.read, berth.body.max and berth.sticky=cookie are HTTP only: remove them from an app with a tcp service (berth.sticky=ip works for tcp).',
  LABEL_DENIED: 'The operator forbids this label (BERTH_LABELS_DENY): remove it from the app, or ask the operator.',
  LABEL_PATH_INVALID:
    'Set berth.path to 1–16 comma-separated prefixes like /api,/static (letters, digits, - . _ ~ @ + : ! =; no //, . or .. segments), berth.path.strip to true or false, on an app with berth.proxy=http.',
  PATH_CONFLICT: 'Another (older) app on this domain has this berth.path prefix: choose another prefix or remove it from one of the apps.',
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
