/**
 * Size of the SSE event being received, measured on the raw bytes before any parser buffers
 * them: an event is every line up to the blank line that ends it (CR, LF or CRLF endings, as
 * SSE allows). eventsource's parser would otherwise grow a line without bound.
 */
const LF = 0x0a;
const CR = 0x0d;

export class EventSizeGuard {
  private eventBytes = 0;
  private lineBytes = 0;
  private afterCR = false;

  constructor(readonly maxBytes: number) {}

  /**
   * Feeds the next chunk. -1: every byte may go on. Otherwise the event in progress crossed
   * `maxBytes`, and the result is how many leading bytes of the chunk hold complete events only
   * (they go on; the rest of the chunk, and of the stream, must not).
   */
  feed(chunk: Uint8Array): number {
    let eventStart = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (b === LF && this.afterCR) {
        // The LF of a CRLF: the line already ended at the CR (and a blank line's LF ends its event).
        this.afterCR = false;
        if (this.eventBytes === 0) eventStart = i + 1;
        continue;
      }
      this.afterCR = b === CR;
      if (b === LF || b === CR) {
        if (this.lineBytes === 0) {
          // Blank line: the event is complete; the next one starts after it.
          this.eventBytes = 0;
          eventStart = i + 1;
        } else this.eventBytes++;
        this.lineBytes = 0;
        continue;
      }
      this.lineBytes++;
      if (++this.eventBytes > this.maxBytes) return eventStart;
    }
    return -1;
  }
}
