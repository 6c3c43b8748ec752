/**
 * Keeps the page current: server-sent "changed" notices from /v1/live; when the stream cannot be
 * held (a proxy that buffers, too many clients), polling every POLL_MS until it can be again.
 */
import type { Topic } from './types';

const POLL_MS = 5000;
const RETRY_SSE_MS = 30_000;

export interface LiveHandle {
  stop(): void;
}

export function startLive(path: string, onChange: (topics: Topic[] | 'all') => void, onState: (text: string) => void): LiveHandle {
  let es: EventSource | null = null;
  let poll: number | undefined;
  let retry: number | undefined;
  let stopped = false;

  const fallback = () => {
    es?.close();
    es = null;
    onState(`Polling every ${POLL_MS / 1000} s`);
    if (poll === undefined) poll = window.setInterval(() => onChange('all'), POLL_MS);
    if (retry === undefined)
      retry = window.setTimeout(() => {
        retry = undefined;
        connect();
      }, RETRY_SSE_MS);
  };

  const connect = () => {
    if (stopped || typeof EventSource === 'undefined') return stopped ? undefined : fallback();
    es = new EventSource(path);
    es.addEventListener('hello', () => {
      if (poll !== undefined) window.clearInterval(poll);
      poll = undefined;
      onState('Live');
      // Anything may have changed while the stream was down.
      onChange('all');
    });
    es.addEventListener('changed', (e) => {
      try {
        const { topics } = JSON.parse((e as MessageEvent<string>).data) as { topics: Topic[] };
        onChange(topics);
      } catch {
        onChange('all');
      }
    });
    // EventSource reconnects by itself after a dropped connection; a refused one (503) is CLOSED.
    es.addEventListener('error', () => {
      if (es?.readyState === EventSource.CLOSED) fallback();
      else onState('Reconnecting…');
    });
  };
  connect();
  return {
    stop() {
      stopped = true;
      es?.close();
      if (poll !== undefined) window.clearInterval(poll);
      if (retry !== undefined) window.clearTimeout(retry);
    },
  };
}
