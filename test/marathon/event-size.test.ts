import { EventSizeGuard } from '../../src/marathon/event-size';

const enc = (s: string) => Buffer.from(s);

/** Feeds `text` cut every `size` bytes; the byte offset in `text` where passing on stops, or -1. */
function stopAt(max: number, text: string, size: number): number {
  const g = new EventSizeGuard(max);
  const buf = enc(text);
  for (let at = 0; at < buf.length; at += size) {
    const r = g.feed(buf.subarray(at, at + size));
    if (r >= 0) return at + r;
  }
  return -1;
}

describe('EventSizeGuard', () => {
  const small = (eol: string) => `event: a${eol}data: ${'x'.repeat(50)}${eol}${eol}`;

  it.each([
    ['CRLF', '\r\n'],
    ['LF', '\n'],
    ['CR', '\r'],
  ])('lets events under the limit through (%s endings, any chunking)', (_n, eol) => {
    const text = small(eol).repeat(20) + eol.repeat(5);
    for (const size of [1, 2, 3, 7, 64, 10_000]) expect(stopAt(70, text, size)).toBe(-1);
  });

  it.each([
    ['CRLF', '\r\n'],
    ['LF', '\n'],
    ['CR', '\r'],
  ])('stops at the start of the first event over the limit (%s endings)', (_n, eol) => {
    const big = `event: a${eol}data: ${'y'.repeat(200)}${eol}${eol}`;
    const text = small(eol) + small(eol) + big + small(eol);
    const start = enc(small(eol) + small(eol)).length;
    // Within one chunk: exactly the complete events before it go on.
    expect(stopAt(100, text, 100_000)).toBe(start);
    // Cut byte by byte, it is noticed on its 101st byte (the LF of a CRLF is part of the CR's ending).
    expect(stopAt(100, text, 1)).toBe(start + 100 + (eol === '\r\n' ? 1 : 0));
  });

  it('counts every line of one event, and only up to its blank line', () => {
    const lines = `event: a\r\n${'data: zzzzzzzzzz\r\n'.repeat(10)}\r\n`;
    expect(stopAt(100, lines, 100_000)).toBe(0);
    expect(stopAt(1000, lines.repeat(50), 33)).toBe(-1);
  });
});
