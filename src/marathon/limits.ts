/**
 * Byte limits on what Marathon sends (defaults of BERTH_MARATHON_MAX_RESPONSE_BYTES and
 * BERTH_MARATHON_MAX_EVENT_BYTES; README explains the choice).
 */

/**
 * Largest REST answer read. `/v2/apps` is parsed as a stream, so this bounds transfer time and
 * a runaway answer, not memory: 384 MiB keeps a 300 MB answer from a 20,000-app Marathon working.
 */
export const DEFAULT_MAX_RESPONSE_BYTES = 384 * 1024 * 1024;

/**
 * Largest single event on `/v2/events` (all its lines). berth subscribes to task, health and app
 * definition events (kilobytes); 4 MiB leaves room for an app definition with large labels.
 */
export const DEFAULT_MAX_EVENT_BYTES = 4 * 1024 * 1024;
