/** Problems: refused apps with code, reason and what to change; held snapshots and held syncs with release buttons. */
import { api, get } from '../api';
import { confirmAction } from '../confirm';
import { badge, fill, h, when } from '../dom';
import { hintFor } from '../hints';
import { notice } from '../notice';
import { pager } from '../pager';
import type { Problem, RegistryStatus, SyncStatus } from '../types';
import type { View } from '../view';

const PAGE = 25;
const state = { page: 0 };
let held: HTMLElement;
let list: HTMLElement;
let message: HTMLElement;

async function releaseSnapshot(reg: RegistryStatus): Promise<void> {
  const p = reg.held?.proposed;
  const removes = p?.removedServices !== undefined ? ` It removes ${p.removedServices} of ${reg.services} services.` : '';
  if (
    !(await confirmAction(
      'Release the held Marathon snapshot?',
      `Applies the snapshot the removal guard held (${reg.held?.reason}) once.${removes} Later snapshots are guarded again.`,
      'Release snapshot',
    ))
  )
    return;
  try {
    const r = await api<{ released: boolean; outcome: { result: string } | null }>('POST', '/v1/registry/release', {});
    notice(message, { ok: r.released ? `snapshot released: ${r.outcome?.result ?? 'applied'}` : 'nothing was held any more' });
  } catch (error) {
    notice(message, { error });
  }
  await problems.refresh();
}

async function releaseSync(sync: SyncStatus): Promise<void> {
  if (
    !(await confirmAction(
      'Release the held Nginx sync?',
      `Applies the Nginx files the removal guard held (${sync.held?.reason}) once, bypassing the guard for this run only.`,
      'Release sync',
    ))
  )
    return;
  try {
    const r = await api<{ released: boolean; run: { status: string } | null }>('POST', '/v1/sync/release', {});
    notice(message, { ok: r.released ? `sync released: ${r.run?.status ?? 'applied'}` : 'nothing was held any more' });
  } catch (error) {
    notice(message, { error });
  }
  await problems.refresh();
}

function details(p: Problem): string {
  return p.details && Object.keys(p.details).length ? JSON.stringify(p.details) : '';
}

export const problems: View = {
  id: 'problems',
  title: 'Problems',
  topics: ['registry', 'problems', 'sync'],
  tickMs: 0,
  mount(root) {
    held = h('section', { 'aria-labelledby': 'held-h' });
    message = h('div');
    list = h('section', { 'aria-labelledby': 'refused-h' });
    root.append(h('h1', {}, 'Problems'), held, message, list);
  },
  async refresh() {
    const [{ problems: all }, reg, sync] = await Promise.all([
      get<{ problems: Problem[] }>('/v1/problems'),
      get<RegistryStatus>('/v1/registry/status'),
      get<SyncStatus>('/v1/sync/status'),
    ]);
    const heldItems: HTMLElement[] = [];
    if (reg.held) {
      const p = reg.held.proposed;
      heldItems.push(
        h(
          'div',
          { class: 'card held', id: 'held-snapshot' },
          h('h3', {}, 'Marathon snapshot held ', badge(reg.held.reason, 'warn')),
          h(
            'p',
            {},
            'Since ',
            when(reg.held.since),
            reg.held.attempts ? `, ${reg.held.attempts} snapshot(s) held` : '',
            '. DNS and Nginx keep the last applied state.',
          ),
          p
            ? h(
                'p',
                {},
                `Proposed: ${p.apps ?? '?'} apps, ${p.services ?? '?'} services, ${p.endpoints ?? '?'} endpoints; removes ${p.removedServices ?? '?'} of ${reg.services} services.`,
              )
            : null,
          reg.held.error ? h('p', { class: 'mono small' }, reg.held.error) : null,
          h('button', { type: 'button', class: 'danger', onclick: () => void releaseSnapshot(reg) }, 'Release snapshot…'),
        ),
      );
    }
    if (sync.held) {
      heldItems.push(
        h(
          'div',
          { class: 'card held', id: 'held-sync' },
          h('h3', {}, 'Nginx sync held ', badge(sync.held.reason, 'warn')),
          h('p', {}, 'Since ', when(sync.held.since), `, at journal position ${sync.held.position}. Nginx keeps serving the last applied files.`),
          h('button', { type: 'button', class: 'danger', onclick: () => void releaseSync(sync) }, 'Release sync…'),
        ),
      );
    }
    fill(
      held,
      h('h2', { id: 'held-h' }, 'Held by the removal guard'),
      heldItems.length ? heldItems : h('p', {}, 'Nothing held: snapshots and Nginx syncs apply as they come.'),
    );

    const pages = Math.max(1, Math.ceil(all.length / PAGE));
    state.page = Math.min(state.page, pages - 1);
    const shown = [...all].sort((a, b) => a.appId.localeCompare(b.appId) || a.code.localeCompare(b.code)).slice(state.page * PAGE, (state.page + 1) * PAGE);
    fill(
      list,
      h('h2', { id: 'refused-h' }, `Refused apps (${all.length})`),
      all.length
        ? h(
            'table',
            { id: 'problems' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['App', 'Code', 'Reason', 'What to change', 'Since'].map((c) => h('th', { scope: 'col' }, c)),
              ),
            ),
            h(
              'tbody',
              {},
              shown.map((p) =>
                h(
                  'tr',
                  {},
                  h('td', {}, p.appId, p.env ? h('div', { class: 'muted small' }, p.env) : null),
                  h('td', {}, h('code', {}, p.code), h('div', { class: 'muted small' }, p.source)),
                  h('td', {}, p.message, details(p) ? h('div', { class: 'mono small' }, details(p).slice(0, 400)) : null),
                  h('td', {}, hintFor(p.code)),
                  h('td', {}, when(p.since)),
                ),
              ),
            ),
          )
        : h('p', {}, 'No refused apps.'),
      all.length > PAGE
        ? pager('Problems', state.page, PAGE, shown.length, all.length, (pg) => {
            state.page = pg;
            void problems.refresh();
          })
        : null,
      sync.excluded.length
        ? h('p', {}, `${sync.excluded.length} service(s) excluded from Nginx after nginx -t rejected them (listed above as nginx problems).`)
        : null,
    );
  },
};
