/** Services: the published registry, searchable and filterable by environment, with endpoints, publication state and labels. */
import { get } from '../api';
import { badge, fill, h } from '../dom';
import { pager } from '../pager';
import type { Service, SyncStatus } from '../types';
import type { View } from '../view';

const PAGE = 25;
const state = { q: '', env: '', page: 0 };
/** Services whose details are open survive live redraws. */
const open = new Set<string>();
let envSelect: HTMLSelectElement;
let results: HTMLElement;

let prefix = 'berth.';
/** BERTH_LABEL_PREFIX of the berth serving the page (from /v1/ui/config). */
export function setLabelPrefix(p: string): void {
  prefix = p;
}

/** The labels that produce this service, as berth read them (defaults written out). */
function labelsOf(s: Service): Array<[string, string]> {
  const out: Array<[string, string]> = [
    ['domain', s.domains.join(',')],
    ['env', s.env],
    ['port', s.portName ?? String(s.servicePort)],
    ['proxy', s.proxy],
  ];
  if (s.listen !== null) out.push(['listen', String(s.listen)]);
  out.push(['dns', s.dns]);
  if (s.fixedIp) out.push(['ip', s.fixedIp]);
  if (s.paths) out.push(['path', s.paths.join(',')]);
  if (s.pathStrip) out.push(['path.strip', 'true']);
  if (s.tls) out.push(['tls', s.tls]);
  if (s.hsts !== undefined) out.push(['tls.hsts', String(s.hsts)]);
  const o = s.options ?? {};
  if (o.connectTimeout !== undefined) out.push(['timeout.connect', String(o.connectTimeout)]);
  if (o.readTimeout !== undefined) out.push(['timeout.read', String(o.readTimeout)]);
  if (o.bodyMax !== undefined) out.push(['body.max', String(o.bodyMax)]);
  if (o.allow) out.push(['allow', o.allow.join(',')]);
  if (o.sticky) out.push(['sticky', o.sticky]);
  return out.map(([k, v]) => [`${prefix}${k}`, v]);
}

/** What the app serves of its domains: every path, or its prefixes (several apps then share the domains). */
function pathsOf(s: Service): string {
  if (!s.paths) return 'all paths';
  return `only ${s.paths.join(', ')}${s.pathStrip ? ' (prefix stripped before proxying)' : ''}`;
}

function nginxState(s: Service, excluded: Set<string>): HTMLElement {
  if (s.proxy === 'none') return badge('not proxied', 'info');
  if (excluded.has(`${s.env} ${s.appId}`)) return badge('excluded: rejected by nginx -t', 'bad');
  if (!s.endpoints.length) return badge(`${s.proxy}: 503, no serving task`, 'warn');
  return badge(s.proxy === 'tcp' ? `tcp :${s.listen}` : 'http', 'ok');
}

function dnsState(s: Service): HTMLElement {
  if (s.dns === 'none') return badge('not in DNS', 'info');
  if (s.dns === 'direct' && !s.endpoints.length) return badge('direct: no address', 'warn');
  return badge(s.dns, 'ok');
}

function row(s: Service, excluded: Set<string>): HTMLElement {
  const key = `${s.env} ${s.appId} ${s.port ?? ''}`;
  const toggle = (e: Event) => {
    if ((e.target as HTMLDetailsElement).open) open.add(key);
    else open.delete(key);
  };
  return h(
    'li',
    { class: 'service' },
    h(
      'details',
      { open: open.has(key), ontoggle: toggle },
      h(
        'summary',
        {},
        h('span', { class: 'svc-domain' }, s.domains[0]),
        s.paths ? h('span', { class: 'svc-paths mono' }, s.paths.join(' ')) : null,
        s.domains.length > 1 ? h('span', { class: 'muted' }, ` +${s.domains.length - 1}`) : null,
        ' ',
        badge(s.env, 'info'),
        ' ',
        h('span', { class: 'muted' }, s.port === undefined ? s.appId : `${s.appId} port ${s.port}`),
        h(
          'span',
          { class: 'svc-state' },
          `${s.endpoints.length} endpoint${s.endpoints.length === 1 ? '' : 's'} `,
          'Nginx ',
          nginxState(s, excluded),
          s.tls ? badge(s.tls === 'redirect' ? 'https, http → 308' : 'https', 'info') : null,
          ' DNS ',
          dnsState(s),
        ),
      ),
      h(
        'div',
        { class: 'svc-detail' },
        h('h3', {}, 'Domains'),
        h('p', {}, s.domains.join(', ')),
        h('p', { class: 'svc-serves' }, `Serves ${pathsOf(s)}`),
        h('h3', {}, 'Endpoints (serving tasks: running and healthy)'),
        s.endpoints.length
          ? h(
              'table',
              {},
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ['Task', 'Address', 'Port', 'Host'].map((c) => h('th', { scope: 'col' }, c)),
                ),
              ),
              h(
                'tbody',
                {},
                s.endpoints.map((e) =>
                  h(
                    'tr',
                    {},
                    h('td', { class: 'mono' }, e.taskId),
                    h('td', { class: 'mono' }, e.address),
                    h('td', { class: 'num' }, e.port),
                    h('td', {}, e.host),
                  ),
                ),
              ),
            )
          : h('p', {}, 'No serving task: Nginx answers 503 and direct DNS has no address.'),
        h('h3', {}, 'Labels it came from'),
        h(
          'pre',
          { class: 'labels' },
          labelsOf(s)
            .map(([k, v]) => `${k}=${v}`)
            .join('\n'),
        ),
        h('p', { class: 'muted small' }, `Marathon version ${s.version}`),
      ),
    ),
  );
}

export const services: View = {
  id: 'services',
  title: 'Services',
  topics: ['registry', 'sync'],
  tickMs: 0,
  mount(root) {
    const search = h('input', { type: 'search', id: 'svc-q', placeholder: 'domain or app id', value: state.q, autocomplete: 'off' });
    search.addEventListener('input', () => {
      state.q = search.value.trim().toLowerCase();
      state.page = 0;
      void services.refresh();
    });
    envSelect = h('select', { id: 'svc-env' }, h('option', { value: '' }, 'all environments'));
    envSelect.addEventListener('change', () => {
      state.env = envSelect.value;
      state.page = 0;
      void services.refresh();
    });
    results = h('div', { id: 'svc-results' });
    root.append(
      h('h1', {}, 'Services'),
      h('div', { class: 'controls', role: 'search' }, h('label', { for: 'svc-q' }, 'Search'), search, h('label', { for: 'svc-env' }, 'Environment'), envSelect),
      results,
    );
  },
  async refresh() {
    const [{ services: all }, sync] = await Promise.all([get<{ services: Service[] }>('/v1/services'), get<SyncStatus>('/v1/sync/status')]);
    const envs = [...new Set(all.map((s) => s.env))].sort();
    fill(
      envSelect,
      h('option', { value: '' }, 'all environments'),
      envs.map((e) => h('option', { value: e, selected: e === state.env }, e)),
    );
    const excluded = new Set(sync.excluded.map((x) => `${x.env} ${x.appId}`));
    const list = all
      .filter((s) => (!state.env || s.env === state.env) && (!state.q || s.appId.toLowerCase().includes(state.q) || s.domains.some((d) => d.includes(state.q))))
      .sort((a, b) => a.domains[0].localeCompare(b.domains[0]) || a.env.localeCompare(b.env));
    const pages = Math.max(1, Math.ceil(list.length / PAGE));
    state.page = Math.min(state.page, pages - 1);
    const shown = list.slice(state.page * PAGE, (state.page + 1) * PAGE);
    fill(
      results,
      h('p', { class: 'muted', role: 'status' }, `${list.length} of ${all.length} services`),
      h(
        'ul',
        { class: 'services' },
        shown.map((s) => row(s, excluded)),
      ),
      list.length > PAGE
        ? pager('Services', state.page, PAGE, shown.length, list.length, (p) => {
            state.page = p;
            void services.refresh();
          })
        : null,
    );
  },
};
