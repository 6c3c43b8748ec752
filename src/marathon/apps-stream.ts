/**
 * Streaming reader of `GET /v2/apps` (`{"apps":[…]}`): scans the bytes as they arrive, cuts out
 * each element of the top-level `apps` array and hands it over alone, so neither the whole body
 * nor a parse tree of it ever exists; memory follows what the caller keeps of each app.
 *
 * The scan tracks strings (with escapes) and bracket depth only; it works on bytes, so a UTF-8
 * character split across chunks is harmless (structural characters are ASCII, and an element is
 * decoded only once complete). Validation is left to JSON.parse: each element is parsed alone,
 * and everything outside the elements (the "skeleton", elements replaced by `0`, whitespace
 * runs collapsed) is parsed at the end, so garbage anywhere, a truncated body or the wrong shape
 * is a `bad_response`, never an empty or partial list.
 */
import { MarathonError, TOO_LARGE_CODES, snippet } from './errors';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const SPACE = 0x20;
const ZERO = 0x30;

const BOM = [0xef, 0xbb, 0xbf];

const isWs = (b: number): boolean => b === SPACE || b === 0x0a || b === 0x0d || b === 0x09;

/** Longest depth-1 key remembered (to recognise `"apps"`, even written with `\u` escapes). */
const MAX_KEY_BYTES = 256;
/** How much of the body's start an error message may quote. */
const HEAD_BYTES = 200;

export interface AppsCutterOptions {
  url: string;
  /** One element larger than this is refused (`too_large`): it would be buffered whole. */
  maxElementBytes: number;
  /** Everything outside the elements larger than this is refused: Marathon writes nothing there. */
  maxSkeletonBytes: number;
  /** One complete element: its text and index. Throwing stops the scan. */
  onElement: (text: string, index: number) => void;
  /** A (further) `apps` array starts: JSON.parse keeps the last duplicate key, so the caller resets. */
  onArrayStart: () => void;
}

export class AppsCutter {
  private depth = 0;
  private inString = false;
  private escape = false;
  private topIsObject: boolean | null = null;
  /** Raw bytes of the string being read at depth 1 (a key, when followed by `:`). */
  private key: number[] | null = null;
  private lastKey: string | null = null;
  private afterColon = false;
  /** Depth of the apps array's contents while inside it; -1 otherwise. */
  private appsDepth = -1;
  /** Parts of the element being cut (null: not inside one). */
  private element: Buffer[] | null = null;
  private elementBytes = 0;
  private index = 0;
  private skeleton = Buffer.alloc(256);
  private skeletonLen = 0;
  private lastWasWs = false;
  private head = '';
  private total = 0;
  /** UTF-8 byte order mark bytes matched so far (-1: done looking). */
  private bom = 0;

  constructor(private readonly o: AppsCutterOptions) {}

  /** Bytes read so far. */
  get bytes(): number {
    return this.total;
  }

  push(chunk: Buffer): void {
    let start = 0;
    // A byte order mark is skipped (axios used to strip it), even when split between chunks.
    while (this.bom >= 0 && start < chunk.length) {
      if (chunk[start] !== BOM[this.bom]) {
        if (this.bom > 0) this.malformed();
        this.bom = -1;
      } else if (++start && ++this.bom === BOM.length) this.bom = -1;
    }
    if (this.head.length < HEAD_BYTES) this.head += chunk.subarray(start, start + HEAD_BYTES - this.head.length).toString('utf8');
    this.total += chunk.length;
    let elemFrom = this.element ? start : -1;
    /** Next backslash at or after `i` in this chunk (-1: none left; -2: not looked up yet). */
    let backslash = -2;
    for (let i = start; i < chunk.length; i++) {
      if (this.inString && elemFrom >= 0) {
        // Fast path for strings inside an element (nearly every byte of an answer): jump to the
        // next quote with a native search, minding escapes.
        if (this.escape) {
          this.escape = false;
          continue;
        }
        if (backslash !== -1 && backslash < i) backslash = chunk.indexOf(BACKSLASH, i);
        const quote = chunk.indexOf(QUOTE, i);
        if (backslash !== -1 && (quote === -1 || backslash < quote)) {
          this.escape = true;
          i = backslash;
          continue;
        }
        if (quote === -1) break;
        this.inString = false;
        i = quote;
        continue;
      }
      const b = chunk[i];
      if (this.inString) {
        if (this.escape) this.escape = false;
        else if (b === BACKSLASH) this.escape = true;
        else if (b === QUOTE) {
          this.inString = false;
          if (this.key) this.endKey();
        }
        if (elemFrom < 0) {
          this.skel(b);
          if (this.key && this.inString && this.key.length <= MAX_KEY_BYTES) this.key.push(b);
        }
        continue;
      }
      if (elemFrom >= 0) {
        // Inside an element: only the depth matters, until `,` or `]` back at the array's depth.
        if (this.depth === this.appsDepth && (b === COMMA || b === RBRACKET)) {
          this.addPart(chunk.subarray(elemFrom, i));
          this.finishElement();
          elemFrom = -1;
          // fall through: the separator belongs to the skeleton
        } else {
          if (b === QUOTE) this.inString = true;
          else if (b === LBRACE || b === LBRACKET) this.depth++;
          else if (b === RBRACE || b === RBRACKET) {
            this.depth--;
            if (this.depth < this.appsDepth) this.malformed();
          }
          continue;
        }
      }
      if (this.depth === this.appsDepth && !isWs(b) && b !== COMMA && b !== RBRACKET) {
        // An element starts here.
        this.element = [];
        this.elementBytes = 0;
        elemFrom = i;
        if (b === QUOTE) this.inString = true;
        else if (b === LBRACE || b === LBRACKET) this.depth++;
        else if (b === RBRACE) this.malformed();
        continue;
      }
      this.structural(b);
    }
    if (elemFrom >= 0) this.addPart(chunk.subarray(elemFrom));
  }

  /** The body ended: returns the parsed skeleton (elements are `0`), or throws `bad_response`. */
  end(): unknown {
    if (this.inString || this.element || this.depth !== 0) this.malformed();
    const text = this.skeleton.subarray(0, this.skeletonLen).toString('utf8');
    try {
      return JSON.parse(text);
    } catch {
      return this.malformed();
    }
  }

  /** Outside elements, outside strings. */
  private structural(b: number): void {
    if (this.topIsObject === null && !isWs(b)) this.topIsObject = b === LBRACE;
    if (b === QUOTE) {
      this.inString = true;
      if (this.depth === 1 && this.topIsObject) this.key = [];
    } else if (b === LBRACKET) {
      if (this.depth === 1 && this.topIsObject && this.afterColon && this.lastKey === 'apps') {
        this.appsDepth = 2;
        this.index = 0;
        this.o.onArrayStart();
      }
      this.depth++;
    } else if (b === LBRACE) {
      this.depth++;
    } else if (b === RBRACE || b === RBRACKET) {
      if (this.depth === this.appsDepth && b === RBRACKET) this.appsDepth = -1;
      this.depth--;
      if (this.depth < 0) this.malformed();
    } else if (this.depth === 1) {
      if (b === COLON) this.afterColon = true;
      else if (b === COMMA) {
        this.afterColon = false;
        this.lastKey = null;
      }
    }
    if (isWs(b)) {
      if (!this.lastWasWs) this.skel(SPACE);
      this.lastWasWs = true;
      return;
    }
    this.skel(b);
  }

  private endKey(): void {
    const raw = this.key!;
    this.key = null;
    if (raw.length > MAX_KEY_BYTES) {
      this.lastKey = null;
      return;
    }
    try {
      this.lastKey = JSON.parse(`"${Buffer.from(raw).toString('utf8')}"`) as string;
    } catch {
      this.lastKey = null;
    }
  }

  private skel(b: number): void {
    this.lastWasWs = false;
    if (this.skeletonLen === this.skeleton.length) {
      if (this.skeletonLen >= this.o.maxSkeletonBytes) {
        throw new MarathonError(
          'bad_response',
          `expected {"apps":[…]}: more than ${this.o.maxSkeletonBytes} bytes outside the apps list: ${snippet(this.head)}`,
          this.o.url,
          200,
        );
      }
      const bigger = Buffer.alloc(Math.min(this.o.maxSkeletonBytes, this.skeleton.length * 2));
      this.skeleton.copy(bigger);
      this.skeleton = bigger;
    }
    this.skeleton[this.skeletonLen++] = b;
  }

  private addPart(part: Buffer): void {
    if (part.length === 0) return;
    this.elementBytes += part.length;
    if (this.elementBytes > this.o.maxElementBytes) {
      throw new MarathonError(
        'too_large',
        `${TOO_LARGE_CODES.answer}: apps[${this.index}] is larger than ${this.o.maxElementBytes} bytes (one app is held whole while it is parsed)`,
        this.o.url,
        200,
      );
    }
    this.element!.push(part);
  }

  private finishElement(): void {
    const parts = this.element!;
    this.element = null;
    const text = (parts.length === 1 ? parts[0] : Buffer.concat(parts)).toString('utf8');
    this.o.onElement(text, this.index++);
    this.skel(ZERO);
  }

  private malformed(): never {
    throw new MarathonError('bad_response', `not JSON: ${snippet(this.head) || '(empty body)'}`, this.o.url, 200);
  }
}
