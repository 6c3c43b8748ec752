import { type Simulator, startSimulator } from '../../src/sim';
import { waitFor } from '../support/wait';
import { RawStream, bridgeApp } from './helpers';

describe.each(['1.4', '1.10'] as const)('simulator /v2/events framing (Marathon %s)', (flavour) => {
  let sim: Simulator;
  const streams: RawStream[] = [];
  const open = (path?: string, headers?: Record<string, string>): RawStream => {
    const s = new RawStream(sim.url, path, headers);
    streams.push(s);
    return s;
  };

  beforeEach(async () => {
    sim = await startSimulator({ flavour, keepaliveMs: 40 });
  });
  afterEach(async () => {
    streams.splice(0).forEach((s) => s.destroy());
    await sim.close();
  });

  it('answers like Jetty: 200, event-stream content type, Connection: close, no chunking, attached event first', async () => {
    const s = open();
    const head = await s.waitForHead();
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    expect(head).toMatch(/\r\nContent-Type: text\/event-stream;charset=UTF-8\r\n/);
    expect(head).toMatch(/\r\nConnection: close\r\n/);
    expect(head).not.toMatch(/Transfer-Encoding/i);
    expect(head).toMatch(new RegExp(`\\r\\nX-Marathon-Leader: http://${sim.hostPort}\\r\\n`));
    const first = await s.waitForEvent(() => true);
    expect(first.event).toBe('event_stream_attached');
    expect(Object.keys(first.data)).toEqual(['remoteAddress', 'eventType', 'timestamp']);
    expect(first.data.remoteAddress).toBe('127.0.0.1');
    expect(first.data.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(s.body.startsWith(first.raw)).toBe(true);
  });

  it('frames each event as event:/data: lines with CRLF, one compact JSON line, no id or retry', async () => {
    const s = open();
    await s.waitForEvent((f) => f.event === 'event_stream_attached');
    await sim.control.deploy(bridgeApp('/web'));
    await s.waitForEvent((f) => f.event === 'deployment_success');
    const withoutKeepalives = s.body.replace(/^(\r\n)+/, '').replace(/\r\n\r\n(\r\n)+/g, '\r\n\r\n');
    const frames = withoutKeepalives.split('\r\n\r\n').filter(Boolean);
    for (const f of frames) {
      const lines = f.split('\r\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^event: [a-z_]+$/);
      expect(lines[1]).toMatch(/^data: \{.*\}$/);
      expect(JSON.parse(lines[1].slice(6)).eventType).toBe(lines[0].slice(7));
    }
    expect(s.body).not.toMatch(/^(id|retry):/m);
    expect(s.body).not.toMatch(/[^\r]\n/);
  });

  it('writes a bare CRLF keepalive on the configured period', async () => {
    const s = open();
    await s.waitForEvent((f) => f.event === 'event_stream_attached');
    await waitFor(
      () => /\r\n\r\n\r\n\r\n$/.test(s.body) || undefined,
      5000,
      () => JSON.stringify(s.body),
    );
    expect(s.body.replace(/event: [^\r]*\r\ndata: [^\r]*\r\n\r\n/g, '')).toMatch(/^(\r\n)+$/);
  });

  it.each([
    ['no Accept header', {}],
    ['Accept with a second type', { Accept: 'text/event-stream, */*' }],
    ['Accept with parameters', { Accept: 'text/event-stream;q=1' }],
    ['Accept application/json', { Accept: 'application/json' }],
  ])('refuses %s with 405 and an HTML page', async (_desc, headers) => {
    const s = open('/v2/events', headers as Record<string, string>);
    await waitFor(() => s.closed || s.bytes.includes('</html>'), 5000);
    expect(s.bytes.split('\r\n')[0]).toBe('HTTP/1.1 405 Method Not Allowed');
    expect(s.bytes).toMatch(/Content-Type: text\/html/);
    expect(s.bytes).toContain('HTTP method GET is not supported by this URL');
  });

  it('filters by repeated event_type parameters, exact match', async () => {
    const filtered = open('/v2/events?event_type=status_update_event&event_type=deployment_success');
    const comma = open('/v2/events?event_type=status_update_event,deployment_success');
    const all = open();
    await all.waitForEvent((f) => f.event === 'event_stream_attached');
    await waitFor(() => sim.control.streamCount() === 3);
    await sim.control.deploy(bridgeApp('/web'));
    await all.waitForEvent((f) => f.event === 'deployment_success');
    await filtered.waitForEvent((f) => f.event === 'deployment_success');
    expect(new Set(filtered.types())).toEqual(new Set(['status_update_event', 'deployment_success']));
    expect(filtered.types()[0]).toBe('status_update_event'); // its own attached event is filtered out
    // A comma-separated value is one (unknown) type: nothing matches.
    expect(comma.types()).toEqual([]);
  });

  it('cuts and stalls streams on demand', async () => {
    const s = open();
    await s.waitForEvent((f) => f.event === 'event_stream_attached');
    sim.control.stallStreams();
    const before = s.bytes.length;
    await sim.control.deploy(bridgeApp('/quiet'));
    sim.control.stallStreams(false);
    sim.control.publish({ eventType: 'marker_event', timestamp: new Date().toISOString() });
    await s.waitForEvent((f) => f.event === 'marker_event');
    // Nothing of the deployment got out while stalled.
    expect(s.bytes.slice(before)).not.toContain('api_post_event');
    expect(sim.control.cutStreams()).toBe(1);
    await waitFor(() => s.closed);
  });

  it('accepts then closes at once while the leader is not ready', async () => {
    sim.control.setNotReady();
    const s = open();
    await waitFor(() => s.closed);
    expect(s.bytes.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    expect(s.body).toBe('');
  });

  it('treats a slow consumer like Marathon: 1.4 drops its events, 1.8+ closes it', async () => {
    await sim.close();
    sim = await startSimulator({ flavour, keepaliveMs: 10_000, maxOutstanding: 5 });
    const s = open();
    await s.waitForEvent((f) => f.event === 'event_stream_attached');
    // A burst bigger than the socket buffers: the reader is not reading fast enough.
    const big = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 200; i++) sim.control.publish({ eventType: 'framework_message_event', message: big, timestamp: '' });
    if (flavour === '1.10') await waitFor(() => s.closed);
    else expect(s.closed).toBe(false);
    await waitFor(() => (flavour === '1.10' ? true : s.frames().length >= 6));
    expect(s.frames().length).toBeLessThan(201);
  });
});
