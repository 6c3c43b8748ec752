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

  /** Feeds the next chunk; false once the event in progress is larger than `maxBytes`. */
  feed(chunk: Uint8Array): boolean {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (b === LF && this.afterCR) {
        // The LF of a CRLF: the line already ended at the CR.
        this.afterCR = false;
        continue;
      }
      this.afterCR = b === CR;
      if (b === LF || b === CR) {
        if (this.lineBytes === 0) this.eventBytes = 0; // blank line: the event is complete
        else this.eventBytes++;
        this.lineBytes = 0;
        continue;
      }
      this.lineBytes++;
      if (++this.eventBytes > this.maxBytes) return false;
    }
    return true;
  }
}
