/** A tiny DOM helper: `h('td', { class: 'num' }, text, child)`. Text is always set as text, never as HTML. */
type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Array<Child | Child[]>): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/** Replaces the children of `el`. */
export function fill(el: Element, ...children: Array<Child | Child[]>): void {
  el.replaceChildren(
    ...children
      .flat()
      .filter((c): c is Node | string | number => c !== null && c !== undefined && c !== false)
      .map((c) => (c instanceof Node ? c : String(c))),
  );
}

const units: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ['day', 86400],
  ['hour', 3600],
  ['minute', 60],
  ['second', 1],
];
const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

/** "3 minutes ago" for an ISO time. */
export function relative(iso: string, now = Date.now()): string {
  const s = Math.round((Date.parse(iso) - now) / 1000);
  for (const [unit, size] of units) if (Math.abs(s) >= size || unit === 'second') return rtf.format(Math.trunc(s / size), unit);
  return iso;
}

/** A <time> showing relative time, with the absolute time (UTC) as its title and datetime. */
export function when(iso: string | null | undefined): HTMLElement | string {
  if (!iso) return '—';
  const abs = new Date(iso)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');
  return h('time', { datetime: iso, title: abs, class: 'when' }, relative(iso), h('span', { class: 'abs' }, ` (${abs})`));
}

export function seconds(s: number | null | undefined): string {
  if (s === null || s === undefined) return '—';
  return s < 1 ? `${Math.round(s * 1000)} ms` : s < 120 ? `${s.toFixed(1)} s` : `${Math.round(s / 60)} min`;
}

/** A status word with a colour class and a text label (colour is never the only cue). */
export function badge(text: string, tone: 'ok' | 'warn' | 'bad' | 'info'): HTMLElement {
  return h('span', { class: `badge ${tone}` }, text);
}
