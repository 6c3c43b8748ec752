/** Marathon intake: REST client, event stream, typed errors, metrics, wire types. */
export { MarathonClient, type MarathonApi, type MarathonClientOptions, DEFAULT_APP_EMBED } from './client';
export { EventStream, type EventStreamEvents, type EventStreamOptions, type BackoffOptions, type StreamStats } from './stream';
export { MarathonError, type MarathonErrorKind, isMarathonError } from './errors';
export { createMarathonMetrics, type MarathonMetrics } from './metrics';
export { KNOWN_EVENT_TYPES, parseEvent } from './event-parse';
export { instanceIdOfTask, plainInstanceId } from './ids';
export type { MarathonAuth } from './auth';
export type * from './types';
