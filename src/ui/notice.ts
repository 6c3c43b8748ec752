import { ApiError } from './api';
import { h } from './dom';

/** A result line for an action (role=status for success, role=alert for an error with its code). */
export function notice(el: HTMLElement, result: { ok: string } | { error: unknown }): void {
  if ('ok' in result) {
    el.replaceChildren(h('p', { class: 'notice ok', role: 'status' }, result.ok));
    return;
  }
  const e = result.error;
  const text = e instanceof ApiError ? `${e.code}: ${e.message}` : String((e as Error)?.message ?? e);
  el.replaceChildren(h('p', { class: 'notice bad', role: 'alert' }, text));
}
