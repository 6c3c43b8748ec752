/**
 * Structural checks of Marathon answers. A body that parses but is not Marathon's shape (an
 * error page served with 200, `{"app":…}` where `{"apps":[…]}` was due, a task without an id) is
 * a `bad_response`, never an empty or partial list (docs/reliability.md, rule 1).
 */
import { MarathonError, snippet } from './errors';
import type { App, Task } from './types';

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses JSON text; anything else is a bad_response naming what came back (`where`: which part). */
export function parseJson(text: string, url: string, where = ''): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new MarathonError('bad_response', `${where ? `${where}: ` : ''}not JSON: ${snippet(text) || '(empty body)'}`, url, 200);
  }
}

function checkTask(t: unknown, where: string, url: string): Task {
  if (!isObj(t) || typeof t.id !== 'string' || typeof t.state !== 'string') {
    throw new MarathonError('bad_response', `${where}: task without string id/state`, url, 200);
  }
  for (const k of ['ports', 'ipAddresses', 'healthCheckResults'] as const) {
    if (t[k] !== undefined && t[k] !== null && !Array.isArray(t[k]))
      throw new MarathonError('bad_response', `${where}: task ${t.id} ${k} is not an array`, url, 200);
  }
  return t as unknown as Task;
}

/** Checks one app object (id, labels, tasks). */
export function checkApp(a: unknown, where: string, url: string): App {
  if (!isObj(a) || typeof a.id !== 'string' || !a.id.startsWith('/')) {
    throw new MarathonError('bad_response', `${where}: app without an absolute string id`, url, 200);
  }
  if (a.labels !== undefined && a.labels !== null && !isObj(a.labels))
    throw new MarathonError('bad_response', `${where}: app ${a.id} labels is not an object`, url, 200);
  if (a.tasks !== undefined) {
    if (!Array.isArray(a.tasks)) throw new MarathonError('bad_response', `${where}: app ${a.id} tasks is not an array`, url, 200);
    a.tasks.forEach((t, i) => checkTask(t, `${where}.tasks[${i}]`, url));
  }
  return a as unknown as App;
}

/** `{"apps":[…]}` → the (unchecked) elements; each goes through `checkApp`. */
export function checkAppsEnvelope(body: unknown, url: string): unknown[] {
  if (!isObj(body) || !Array.isArray(body.apps)) throw new MarathonError('bad_response', 'expected {"apps":[…]}', url, 200);
  return body.apps;
}

/** `{"app":{…}}` → the app. */
export function checkAppResponse(body: unknown, url: string): App {
  if (!isObj(body) || !isObj(body.app)) throw new MarathonError('bad_response', 'expected {"app":{…}}', url, 200);
  return checkApp(body.app, 'app', url);
}
