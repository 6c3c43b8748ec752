import { h } from './dom';

/** Prev/next controls for a list shown `size` at a time. `total` null: unknown (next enabled when a full page came back). */
export function pager(label: string, page: number, size: number, shown: number, total: number | null, go: (page: number) => void): HTMLElement {
  const from = shown ? page * size + 1 : 0;
  const hasNext = total === null ? shown >= size : (page + 1) * size < total;
  return h(
    'nav',
    { class: 'pager', 'aria-label': `${label} pages` },
    h('button', { type: 'button', disabled: page === 0, onclick: () => go(page - 1) }, '← Previous'),
    h('span', { 'aria-live': 'polite' }, total === null ? `${from}–${page * size + shown}` : `${from}–${page * size + shown} of ${total}`),
    h('button', { type: 'button', disabled: !hasNext, onclick: () => go(page + 1) }, 'Next →'),
  );
}
