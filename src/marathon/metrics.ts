/**
 * Marathon intake metrics: REST calls, stream events by type, reconnects, bad events, answers and
 * events refused for their size, and the stream's age (seconds since its last byte; readiness and
 * alerting key on it).
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface MarathonMetrics {
  requests: Counter<'endpoint' | 'outcome'>;
  requestDuration: Histogram<'endpoint'>;
  events: Counter<'type'>;
  badEvents: Counter<'reason'>;
  reconnects: Counter<'reason'>;
  /** `what`: `answer` (a REST answer over BERTH_MARATHON_MAX_RESPONSE_BYTES) or `event` (BERTH_MARATHON_MAX_EVENT_BYTES). */
  oversized: Counter<'what'>;
  streamConnected: Gauge;
  streamAge: Gauge;
  /** Sets where `berth_marathon_stream_age_seconds` reads its value from at scrape time. */
  setStreamAgeSource(fn: () => number): void;
}

/** Registers the Marathon metrics on `registry`. */
export function createMarathonMetrics(registry: Registry): MarathonMetrics {
  let ageSource: () => number = () => Number.NaN;
  const registers = [registry];
  return {
    requests: new Counter({
      name: 'berth_marathon_requests_total',
      help: 'Marathon REST calls by endpoint and outcome (ok or error kind)',
      labelNames: ['endpoint', 'outcome'],
      registers,
    }),
    requestDuration: new Histogram({
      name: 'berth_marathon_request_duration_seconds',
      help: 'Marathon REST call duration',
      labelNames: ['endpoint'],
      registers,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    }),
    events: new Counter({ name: 'berth_marathon_events_total', help: 'Events received on /v2/events by type', labelNames: ['type'], registers }),
    badEvents: new Counter({
      name: 'berth_marathon_bad_events_total',
      help: 'Events skipped: malformed JSON, unknown type, wrong shape',
      labelNames: ['reason'],
      registers,
    }),
    reconnects: new Counter({ name: 'berth_marathon_stream_reconnects_total', help: 'Event stream reconnects by reason', labelNames: ['reason'], registers }),
    oversized: new Counter({
      name: 'berth_marathon_oversized_total',
      help: 'Marathon answers and events refused for their size (answer: MARATHON_ANSWER_TOO_LARGE, event: MARATHON_EVENT_TOO_LARGE)',
      labelNames: ['what'],
      registers,
    }),
    streamConnected: new Gauge({ name: 'berth_marathon_stream_connected', help: '1 while the event stream is open', registers }),
    streamAge: new Gauge({
      name: 'berth_marathon_stream_age_seconds',
      help: 'Seconds since the event stream last received a byte (event or keepalive)',
      registers,
      collect() {
        this.set(ageSource());
      },
    }),
    setStreamAgeSource(fn) {
      ageSource = fn;
    },
  };
}
