/**
 * Marathon id formats (docs/marathon.md "Ids"): health events name instances, tasks
 * have task ids, and 1.6+ health results wrap the instance id as `instance [<id>]`.
 *   1.4–1.7 app task `team_web.<uuid>`               ↔ instance `team_web.marathon-<uuid>`
 *   1.8+   app task `team_web.instance-<uuid>._app.N` ↔ instance `team_web.instance-<uuid>`
 *   pods          `pod.instance-<uuid>.<container>`  ↔ instance `pod.instance-<uuid>`
 */

const UUID = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';
const NEW_APP_TASK = new RegExp(`^(.+)\\.instance-(${UUID})\\._app\\.\\d+$`);
const POD_TASK = new RegExp(`^(.+)\\.instance-(${UUID})\\.[^.]+$`);
const LEGACY_TASK = new RegExp(`^(.+)\\.(${UUID})$`);

/** The instance id a task belongs to, or null for an id in no known format. */
export function instanceIdOfTask(taskId: string): string | null {
  const m = NEW_APP_TASK.exec(taskId) ?? POD_TASK.exec(taskId);
  if (m) return `${m[1]}.instance-${m[2]}`;
  const legacy = LEGACY_TASK.exec(taskId);
  return legacy ? `${legacy[1]}.marathon-${legacy[2]}` : null;
}

/** `instance [x.instance-…]` (1.6+ health results) → `x.instance-…`; other strings unchanged. */
export function plainInstanceId(id: string): string {
  const m = /^instance \[(.*)\]$/.exec(id);
  return m ? m[1] : id;
}
