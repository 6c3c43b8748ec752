/** Overview: role and leader, Marathon stream, readiness, the last Nginx sync runs, DNS serial and query rate. */
import { api, get } from '../api';
import { badge, h, fill, seconds, when } from '../dom';
import type { Cluster, DnsStatus, Ready, RegistryStatus, SyncRun, SyncStatus } from '../types';
import type { View } from '../view';

let body: HTMLElement;

function card(title: string, id: string, ...content: Array<Node | string>): HTMLElement {
  return h('section', { class: 'card', 'aria-labelledby': `${id}-h`, id }, h('h2', { id: `${id}-h` }, title), ...content);
}

function dl(rows: Array<[string, Node | string]>): HTMLElement {
  return h('dl', { class: 'facts' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]).flat());
}

function runStatus(r: SyncRun): HTMLElement {
  const tone = r.status === 'failed' ? 'bad' : r.status === 'held' ? 'warn' : r.status === 'applied' ? 'ok' : 'info';
  return badge(r.status, tone);
}

export const overview: View = {
  id: 'overview',
  title: 'Overview',
  topics: ['registry', 'sync', 'problems'],
  tickMs: 5000,
  mount(root) {
    body = h('div', { class: 'grid' });
    root.append(h('h1', {}, 'Overview'), body);
  },
  async refresh() {
    const [cluster, ready, reg, runs, sync, dns] = await Promise.all([
      get<Cluster>('/v1/cluster'),
      api<Ready>('GET', '/readyz', undefined, [503]),
      get<RegistryStatus>('/v1/registry/status'),
      get<{ runs: SyncRun[] }>('/v1/sync/runs?limit=8'),
      get<SyncStatus>('/v1/sync/status'),
      get<DnsStatus>('/v1/dns/status'),
    ]);
    const m = ready.checks.marathon as { ok: boolean; detail?: { snapshot?: boolean; streamAgeSeconds?: number | null; role?: string } } | undefined;
    const streamAge = m?.detail?.streamAgeSeconds;
    fill(
      body,
      card(
        'Cluster',
        'ov-cluster',
        dl([
          ['This replica', h('span', {}, badge(cluster.self.role, cluster.self.role === 'leader' ? 'ok' : 'info'), ` ${cluster.self.id}`)],
          [
            'Leader',
            cluster.leader ? h('span', {}, `${cluster.leader.id} (epoch ${cluster.leader.epoch}) since `, when(cluster.leader.acquiredAt)) : 'none elected',
          ],
          ['Replicas', `${cluster.members.filter((x) => x.alive).length} alive of ${cluster.members.length}`],
        ]),
      ),
      card(
        'Marathon',
        'ov-marathon',
        dl([
          [
            'Event stream',
            !m
              ? 'not configured (IPAM and API only)'
              : m.detail?.role === 'standby'
                ? 'followed by the leader'
                : h(
                    'span',
                    {},
                    badge(m.ok ? 'connected' : 'stale', m.ok ? 'ok' : 'bad'),
                    streamAge === null || streamAge === undefined ? ' no event yet' : ` last event ${seconds(streamAge)} ago`,
                  ),
          ],
          [
            'Last snapshot',
            reg.lastSnapshot ? h('span', {}, `${reg.lastSnapshot.result}, ${seconds(reg.lastSnapshot.durationMs / 1000)}, `, when(reg.lastSnapshot.at)) : '—',
          ],
          ['Registry', `${reg.services} services, ${reg.endpoints} endpoints, ${reg.problems} problems, journal ${reg.position}`],
          ['Snapshot held', reg.held ? badge(`held: ${reg.held.reason}`, 'warn') : 'no'],
        ]),
      ),
      card(
        'Readiness',
        'ov-ready',
        h('p', {}, badge(ready.ready ? 'ready' : 'not ready', ready.ready ? 'ok' : 'bad')),
        h(
          'ul',
          { class: 'checks' },
          Object.entries(ready.checks).map(([name, c]) => h('li', {}, badge(c.ok ? 'ok' : 'failing', c.ok ? 'ok' : 'bad'), ` ${name}`)),
        ),
      ),
      card(
        'DNS',
        'ov-dns',
        dl([
          ['Serial', h('span', { 'data-testid': 'dns-serial' }, String(dns.serial))],
          ['Names', String(dns.names)],
          [
            'Queries',
            dns.queriesPerSecond === null
              ? `${dns.queriesTotal} total (rate: measuring)`
              : `${dns.queriesPerSecond.toFixed(1)}/s over the last minute, ${dns.queriesTotal} total`,
          ],
          ['Index', dns.loaded ? `loaded at journal ${dns.position}` : 'not loaded (answers SERVFAIL)'],
        ]),
      ),
      card(
        'Nginx sync',
        'ov-sync',
        dl([
          ['State', sync.held ? badge(`held: ${sync.held.reason}`, 'warn') : badge('running', 'ok')],
          ['Last reload', when(sync.lastReloadAt)],
          ['Excluded services', String(sync.excluded.length)],
        ]),
        h(
          'table',
          {},
          h('caption', {}, 'Last sync runs'),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['When', 'Status', 'Trigger', 'Duration', 'Files', 'Reload'].map((c) => h('th', { scope: 'col' }, c)),
            ),
          ),
          h(
            'tbody',
            {},
            runs.runs.length
              ? runs.runs.map((r) =>
                  h(
                    'tr',
                    {},
                    h('td', {}, when(r.finishedAt)),
                    h('td', {}, runStatus(r), r.error ? h('div', { class: 'muted small' }, r.error.slice(0, 200)) : null),
                    h('td', {}, r.trigger),
                    h('td', { class: 'num' }, seconds((Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000)),
                    h('td', { class: 'num' }, `+${r.filesWritten} −${r.filesRemoved}`),
                    h('td', {}, r.reloaded ? 'reloaded' : '—'),
                  ),
                )
              : h('tr', {}, h('td', { colspan: 6 }, 'no runs yet')),
          ),
        ),
      ),
    );
  },
};
