/** Pools: utilisation per pool, allocations (search, paging), allocate and release, reservations, the audit trail. */
import { api, get, seg } from '../api';
import { confirmAction } from '../confirm';
import { badge, fill, h, when } from '../dom';
import { notice } from '../notice';
import { pager } from '../pager';
import type { Allocation, IpamEvent, Pool } from '../types';
import type { View } from '../view';

const PAGE = 25;
const EVENTS = 20;
const state = { pool: '', q: '', page: 0, eventsBefore: [] as number[] };
let summary: HTMLElement;
let detail: HTMLElement;
let message: HTMLElement;
let controls: HTMLElement;
/** Redrawn parts below the allocations (the reserve form between them is built once, so typing and focus survive). */
let reservations: HTMLElement;
let section: HTMLElement;
let audit: HTMLElement;

function usageBar(p: Pool): HTMLElement {
  const u = p.usage;
  const pct = (n: number) => (u.capacity ? (100 * n) / u.capacity : 0);
  const used = pct(u.allocated);
  const bar = h('div', {
    class: 'bar',
    role: 'img',
    'aria-label': `${p.name}: ${u.allocated} allocated, ${u.quarantined} quarantined, ${u.reserved} reserved, ${u.available} available of ${u.capacity}`,
  });
  for (const [cls, n] of [
    ['allocated', u.allocated],
    ['quarantined', u.quarantined],
    ['reserved', u.reserved],
  ] as const) {
    const seg = h('span', { class: `seg ${cls}` });
    seg.style.width = `${pct(n)}%`;
    bar.append(seg);
  }
  return h('div', { class: 'usage' }, bar, h('span', { class: 'small' }, `${used.toFixed(used < 10 ? 1 : 0)} % allocated`));
}

function poolRow(p: Pool): HTMLElement {
  const u = p.usage;
  return h(
    'tr',
    { class: p.name === state.pool ? 'selected' : null },
    h(
      'th',
      { scope: 'row' },
      h('button', { type: 'button', class: 'linkish', 'aria-pressed': String(p.name === state.pool), onclick: () => select(p.name) }, p.name),
    ),
    h('td', { class: 'mono' }, p.cidr),
    h('td', {}, usageBar(p)),
    h('td', { class: 'num' }, u.allocated),
    h('td', { class: 'num' }, u.quarantined),
    h('td', { class: 'num' }, u.reserved),
    h('td', { class: 'num' }, u.available),
    h('td', { class: 'num' }, u.capacity),
  );
}

function select(name: string): void {
  state.pool = name;
  state.page = 0;
  state.q = '';
  state.eventsBefore = [];
  const q = document.getElementById('alloc-q') as HTMLInputElement | null;
  if (q) q.value = '';
  void pools.refresh();
}

async function allocate(pool: string, appId: string, ip: string): Promise<void> {
  try {
    const a = await api<Allocation>('PUT', `/v1/pools/${seg(pool)}/allocations/${seg(appId)}`, ip ? { ip } : {});
    notice(message, { ok: `${a.appId} holds ${a.ip} in ${pool} (allocation ${a.allocationId})` });
  } catch (error) {
    notice(message, { error });
  }
  await pools.refresh();
}

async function release(a: Allocation): Promise<void> {
  const ok = await confirmAction(
    `Release ${a.ip}?`,
    `${a.appId} loses ${a.ip} in pool ${a.pool}. The address rests in quarantine before anyone else gets it. A running container keeps using it until redeployed.`,
    'Release',
  );
  if (!ok) return;
  try {
    // Fenced: if the app got a newer allocation meanwhile, the API refuses (STALE_ALLOCATION).
    await api('DELETE', `/v1/pools/${seg(a.pool)}/allocations/${seg(a.appId)}?allocationId=${a.allocationId}`);
    notice(message, { ok: `released ${a.ip} (${a.appId})` });
  } catch (error) {
    notice(message, { error });
  }
  await pools.refresh();
}

/** Built once per visit, so typing survives live redraws; acts on the pool selected at submit time. */
function allocateForm(): HTMLElement {
  const app = h('input', { id: 'alloc-app', required: true, placeholder: '/team/app', autocomplete: 'off', maxlength: 1000 });
  const ip = h('input', { id: 'alloc-ip', placeholder: 'any free address', autocomplete: 'off', maxlength: 45 });
  const form = h(
    'form',
    { class: 'controls', 'aria-label': 'Allocate an address in the selected pool' },
    h('label', { for: 'alloc-app' }, 'App id'),
    app,
    h('label', { for: 'alloc-ip' }, 'Address (optional)'),
    ip,
    h('button', { type: 'submit' }, 'Allocate'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (app.value.trim() && state.pool) void allocate(state.pool, app.value.trim(), ip.value.trim());
  });
  return form;
}

async function reserve(pool: string, address: string, reason: string): Promise<void> {
  try {
    const r = await api<{ address: string; addresses: number }>('POST', `/v1/pools/${seg(pool)}/reservations`, reason ? { address, reason } : { address });
    notice(message, { ok: `reserved ${r.address} in ${pool} (${r.addresses} address${r.addresses === 1 ? '' : 'es'})` });
  } catch (error) {
    notice(message, { error });
  }
  await pools.refresh();
}

async function unreserve(pool: string, address: string): Promise<void> {
  if (
    !(await confirmAction(
      `Free ${address}?`,
      `The reservation ${address} in pool ${pool} ends and its addresses become allocatable (the gateway and Docker's ranges stay reserved).`,
      'Free',
    ))
  )
    return;
  try {
    const r = await api<{ address: string; addresses: number }>('DELETE', `/v1/pools/${seg(pool)}/reservations?address=${encodeURIComponent(address)}`);
    notice(message, { ok: `freed ${r.address} (${r.addresses} address${r.addresses === 1 ? '' : 'es'})` });
  } catch (error) {
    notice(message, { error });
  }
  await pools.refresh();
}

/** Built once per visit, like the allocate form. */
function reserveForm(): HTMLElement {
  const address = h('input', { id: 'resv-address', required: true, placeholder: '10.0.0.5, 10.0.0.16/28 or a-b', autocomplete: 'off', maxlength: 100 });
  const reason = h('input', { id: 'resv-reason', placeholder: 'why (audit trail)', autocomplete: 'off', maxlength: 200 });
  const form = h(
    'form',
    { class: 'controls', 'aria-label': 'Reserve addresses in the selected pool' },
    h('label', { for: 'resv-address' }, 'Reserve'),
    address,
    h('label', { for: 'resv-reason' }, 'Reason'),
    reason,
    h('button', { type: 'submit' }, 'Reserve'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (address.value.trim() && state.pool) void reserve(state.pool, address.value.trim(), reason.value.trim());
  });
  return form;
}

function searchBox(): HTMLElement {
  const search = h('input', { type: 'search', id: 'alloc-q', value: state.q, placeholder: 'app id or address', autocomplete: 'off' });
  search.addEventListener('input', () => {
    state.q = search.value.trim();
    state.page = 0;
    void pools.refresh();
  });
  return h('div', { class: 'controls', role: 'search' }, h('label', { for: 'alloc-q' }, 'Search allocations'), search);
}

async function renderDetail(pool: Pool): Promise<void> {
  const params = new URLSearchParams({ limit: String(PAGE + 1), offset: String(state.page * PAGE) });
  if (state.q) params.set('q', state.q);
  const ev = new URLSearchParams({ limit: String(EVENTS) });
  const before = state.eventsBefore.at(-1);
  if (before) ev.set('before', String(before));
  const [{ allocations }, { events }] = await Promise.all([
    get<{ allocations: Allocation[] }>(`/v1/pools/${seg(pool.name)}/allocations?${params}`),
    get<{ events: IpamEvent[] }>(`/v1/pools/${seg(pool.name)}/events?${ev}`),
  ]);
  const shown = allocations.slice(0, PAGE);
  fill(
    controls.querySelector('.pool-info') as HTMLElement,
    h('h2', { id: 'pool-h' }, `Pool ${pool.name}`),
    h(
      'p',
      { class: 'muted' },
      `${pool.cidr}, gateway ${pool.gateway ?? '—'}, allocation range ${pool.allocationRange.first}–${pool.allocationRange.last}, quarantine ${pool.quarantineSeconds} s${pool.dockerNetwork ? `, Docker network ${pool.dockerNetwork}` : ''}`,
    ),
  );
  fill(
    detail,
    h(
      'table',
      { id: 'allocations' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Address', 'App id', 'Allocation', 'Since', ''].map((c) => h('th', { scope: 'col' }, c)),
        ),
      ),
      h(
        'tbody',
        {},
        shown.length
          ? shown.map((a) =>
              h(
                'tr',
                {},
                h('td', { class: 'mono' }, a.ip),
                h('td', {}, a.appId),
                h('td', { class: 'num' }, a.allocationId),
                h('td', {}, when(a.allocatedAt)),
                h(
                  'td',
                  {},
                  h('button', { type: 'button', class: 'danger', 'aria-label': `Release ${a.ip} (${a.appId})`, onclick: () => void release(a) }, 'Release'),
                ),
              ),
            )
          : h('tr', {}, h('td', { colspan: 5 }, state.q ? `no allocation matches "${state.q}"` : 'no allocations')),
      ),
    ),
    pager('Allocations', state.page, PAGE, shown.length, null, (p) => {
      state.page = p;
      void pools.refresh();
    }),
  );
  fill(
    reservations,
    pool.reserved.length
      ? h(
          'ul',
          { class: 'inline', id: 'reservations' },
          pool.reserved.map((r) =>
            h(
              'li',
              {},
              h('span', { class: 'mono' }, r),
              ' ',
              h(
                'button',
                { type: 'button', class: 'danger small', 'aria-label': `Free reservation ${r}`, onclick: () => void unreserve(pool.name, r) },
                'Free',
              ),
            ),
          ),
        )
      : h('p', {}, 'none besides the gateway and Docker ranges'),
    h('p', { class: 'muted small' }, `${pool.usage.reserved} addresses reserved in all (gateway, Docker ranges, operator reservations).`),
  );
  fill(
    audit,
    h(
      'table',
      { id: 'events' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['When', 'Action', 'Address', 'App id', 'Actor'].map((c) => h('th', { scope: 'col' }, c)),
        ),
      ),
      h(
        'tbody',
        {},
        events.map((e) =>
          h(
            'tr',
            {},
            h('td', {}, when(e.at)),
            h('td', {}, badge(e.action, e.action.includes('release') ? 'warn' : 'info')),
            h('td', { class: 'mono' }, e.ip ?? '—'),
            h('td', {}, e.appId ?? '—'),
            h('td', {}, e.actor),
          ),
        ),
      ),
    ),
    h(
      'nav',
      { class: 'pager', 'aria-label': 'Audit trail pages' },
      h(
        'button',
        {
          type: 'button',
          disabled: !state.eventsBefore.length,
          onclick: () => {
            state.eventsBefore.pop();
            void pools.refresh();
          },
        },
        '← Newer',
      ),
      h(
        'button',
        {
          type: 'button',
          disabled: events.length < EVENTS,
          onclick: () => {
            state.eventsBefore.push(events[events.length - 1].id);
            void pools.refresh();
          },
        },
        'Older →',
      ),
    ),
  );
}

export const pools: View = {
  id: 'pools',
  title: 'Pools',
  topics: ['pools'],
  tickMs: 0,
  mount(root) {
    summary = h('div');
    message = h('div', { id: 'pool-message' });
    detail = h('div', { id: 'pool-detail' });
    reservations = h('div');
    audit = h('div');
    controls = h('div', {}, h('div', { class: 'pool-info' }), allocateForm(), h('h3', {}, 'Allocations'), searchBox());
    section = h(
      'section',
      { 'aria-labelledby': 'pool-h' },
      controls,
      message,
      detail,
      h('h3', {}, 'Reservations'),
      reservations,
      reserveForm(),
      h('h3', {}, 'Audit trail'),
      audit,
    );
    root.append(h('h1', {}, 'Pools'), summary, section);
  },
  async refresh() {
    const { pools: list } = await get<{ pools: Pool[] }>('/v1/pools');
    if (!list.some((p) => p.name === state.pool)) state.pool = list[0]?.name ?? '';
    fill(
      summary,
      list.length
        ? h(
            'table',
            { id: 'pools' },
            h('caption', {}, 'Utilisation per pool (choose a pool for its allocations)'),
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['Pool', 'CIDR', 'Usage', 'Allocated', 'Quarantined', 'Reserved', 'Available', 'Capacity'].map((c) => h('th', { scope: 'col' }, c)),
              ),
            ),
            h('tbody', {}, list.map(poolRow)),
          )
        : h('p', {}, 'No pools yet: berth pools add <name> <cidr>'),
    );
    const pool = list.find((p) => p.name === state.pool);
    section.hidden = !pool;
    if (pool) await renderDetail(pool);
  },
};
