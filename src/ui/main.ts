/**
 * The dashboard's entry: learn whether a token is required, ask for it (kept in session storage,
 * checked with the API before anything is shown), then route between the views by URL hash and
 * keep the visible one current from the live stream.
 */
import { api, ApiError, get, setToken, token, whenUnauthorized } from './api';
import { fill, h } from './dom';
import { startLive, type LiveHandle } from './live';
import type { Topic } from './types';
import type { View } from './view';
import { overview } from './views/overview';
import { pools } from './views/pools';
import { problems } from './views/problems';
import { services, setLabelPrefix } from './views/services';

const VIEWS: View[] = [overview, services, pools, problems];
const main = document.getElementById('main') as HTMLElement;
const nav = document.getElementById('nav') as HTMLElement;
const liveEl = document.getElementById('live') as HTMLElement;
const signout = document.getElementById('signout') as HTMLButtonElement;

let current: View | null = null;
let live: LiveHandle | null = null;
let tick: number | undefined;
let refreshing: Promise<void> | null = null;
let again = false;
let config: { tokensRequired: boolean; live: string; labelPrefix: string } = { tokensRequired: false, live: '/v1/live', labelPrefix: 'berth.' };

/** Re-reads the visible view; a refresh asked for meanwhile (same or new view) runs once after the one in flight. */
function refresh(): void {
  if (!current) return;
  if (refreshing) {
    again = true;
    return;
  }
  const view = current;
  refreshing = view
    .refresh()
    .then(
      () => document.getElementById('view-error')?.remove(),
      (err: unknown) => {
        if (err instanceof ApiError && err.status === 401) return;
        document.getElementById('view-error')?.remove();
        main.prepend(h('p', { id: 'view-error', class: 'notice bad', role: 'alert' }, `Could not load ${view.title}: ${(err as Error).message}`));
      },
    )
    .finally(() => {
      refreshing = null;
      // Also when the view changed meanwhile: the new one asked while this one was in flight.
      if (again) {
        again = false;
        refresh();
      }
    });
}

/**
 * A refresh for a live notice: at once when the last one was a while ago, otherwise once at the end
 * of LIVE_GAP_MS, so a busy platform (a change every few ms) costs the page one re-read per gap.
 */
const LIVE_GAP_MS = 1000;
let lastLive = 0;
let pending: number | undefined;
function soon(): void {
  if (pending !== undefined) return;
  const wait = Math.max(0, lastLive + LIVE_GAP_MS - Date.now());
  pending = window.setTimeout(() => {
    pending = undefined;
    lastLive = Date.now();
    refresh();
  }, wait);
}

function show(): void {
  const id = location.hash.replace(/^#\/?/, '') || 'overview';
  const view = VIEWS.find((v) => v.id === id) ?? overview;
  for (const a of nav.querySelectorAll('a')) {
    if (a.dataset.view === view.id) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `${view.title} · berth`;
  current = view;
  main.replaceChildren();
  view.mount(main);
  window.clearInterval(tick);
  tick = view.tickMs ? window.setInterval(refresh, view.tickMs) : undefined;
  refresh();
}

function startApp(): void {
  fill(
    nav,
    VIEWS.map((v) => h('a', { href: `#/${v.id}`, 'data-view': v.id }, v.title)),
  );
  nav.hidden = false;
  signout.hidden = !config.tokensRequired;
  window.addEventListener('hashchange', show);
  show();
  live = startLive(
    config.live,
    (topics: Topic[] | 'all') => {
      if (current && (topics === 'all' || topics.some((t) => current?.topics.includes(t)))) soon();
    },
    (text) => (liveEl.textContent = text),
  );
}

function stopApp(): void {
  live?.stop();
  live = null;
  window.clearInterval(tick);
  window.removeEventListener('hashchange', show);
  current = null;
  nav.hidden = true;
  signout.hidden = true;
  liveEl.textContent = '';
}

/** Nothing but the prompt: every view is torn down first. */
function prompt(error?: string): void {
  stopApp();
  const input = h('input', {
    id: 'token',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
    'aria-describedby': error ? 'token-error' : 'token-help',
  });
  const form = h(
    'form',
    { class: 'login', 'aria-labelledby': 'login-h' },
    h('h1', { id: 'login-h' }, 'API token required'),
    h('p', { id: 'token-help' }, 'This berth has BERTH_API_TOKENS set. Enter one of its tokens; it is kept for this browser tab only (session storage).'),
    error ? h('p', { id: 'token-error', class: 'notice bad', role: 'alert' }, error) : null,
    h('label', { for: 'token' }, 'Token'),
    input,
    h('button', { type: 'submit' }, 'Sign in'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    setToken(input.value.trim());
    void verifyThenStart();
  });
  main.replaceChildren(form);
  input.focus();
}

async function verifyThenStart(): Promise<void> {
  if (config.tokensRequired) {
    if (!token()) return prompt();
    try {
      await api('POST', '/v1/ui/verify', {});
    } catch (err) {
      setToken(null);
      return prompt(err instanceof ApiError && err.status === 401 ? 'That token was not accepted.' : `Could not check the token: ${(err as Error).message}`);
    }
  }
  startApp();
}

async function boot(): Promise<void> {
  whenUnauthorized(() => {
    setToken(null);
    prompt('The token is no longer accepted.');
  });
  signout.addEventListener('click', () => {
    setToken(null);
    prompt();
  });
  try {
    config = await get<typeof config>('/v1/ui/config');
    setLabelPrefix(config.labelPrefix);
  } catch (err) {
    main.replaceChildren(h('p', { class: 'notice bad', role: 'alert' }, `berth did not answer: ${(err as Error).message}`));
    return;
  }
  await verifyThenStart();
}

void boot();
