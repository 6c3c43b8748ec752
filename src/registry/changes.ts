/**
 * Which apps each recent write touched, by journal position, so a consumer that is a few writes
 * behind (the DNS index) can apply just those apps instead of re-reading the whole catalog. Kept in
 * memory and bounded: a consumer further behind, or one asking across a reload from the database,
 * gets null and falls back to a full snapshot.
 */

interface Entry {
  from: number;
  to: number;
  ids: readonly string[];
}

/** Bounds: a consumer this far behind is better served by a snapshot anyway. */
const MAX_ENTRIES = 4096;
const MAX_IDS = 50_000;

export class ChangeLog {
  private entries: Entry[] = [];
  private ids = 0;
  /** Oldest position the log can answer from. */
  private start: number;

  constructor(position = 0) {
    this.start = position;
  }

  /** The latest position recorded. */
  get head(): number {
    return this.entries.length > 0 ? this.entries[this.entries.length - 1].to : this.start;
  }

  /** Forget everything before `position` (the state was reloaded wholesale). */
  reset(position: number): void {
    this.entries = [];
    this.ids = 0;
    this.start = position;
  }

  /** One committed write moved the journal from `from` to `to`, changing the services of `ids`. */
  record(from: number, to: number, ids: readonly string[]): void {
    if (from !== this.head || to < from) {
      this.reset(to); // a gap we did not see: nothing before `to` can be answered
      return;
    }
    if (to === from && ids.length === 0) return;
    this.entries.push({ from, to, ids });
    this.ids += ids.length;
    if (this.entries.length > MAX_ENTRIES || this.ids > MAX_IDS) {
      const drop = Math.max(1, this.entries.length >> 1);
      for (const e of this.entries.slice(0, drop)) this.ids -= e.ids.length;
      this.entries = this.entries.slice(drop);
      this.start = this.entries.length > 0 ? this.entries[0].from : this.start;
    }
  }

  /** App ids changed after `position` up to the head; null when the log cannot tell. */
  since(position: number): Set<string> | null {
    const out = new Set<string>();
    if (position === this.head) return out;
    if (position < this.start || position > this.head) return null;
    let i = this.entries.length - 1;
    for (; i >= 0 && this.entries[i].from > position; i--) for (const id of this.entries[i].ids) out.add(id);
    // `position` must be where some write started, or it lies inside one we only know as a whole.
    if (i < 0 || this.entries[i].from !== position) return null;
    for (const id of this.entries[i].ids) out.add(id);
    return out;
  }
}
