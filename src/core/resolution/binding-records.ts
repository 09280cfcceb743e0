import { IdTable } from './id-table.ts';
import { PAGE_BITS, PAGE_MASK, SlotPages } from './slot-pages.ts';
import { SlotTexts } from './slot-texts.ts';

const NONE = -1;
// A slot's words in `times`: 32 bytes, so that one cache line holds all a search reads.
const START = 0;
const END = 1;
const REACH = 2;
const SEQ = 3;
const TIMES = 4;

/**
 * The bindings of an index, one slot per binding, stored record by record in typed
 * arrays and found by id: a million bindings are a few hundred buffers, not millions of
 * objects for the collector to trace. Slots of removed bindings are reused.
 *
 * Per slot: start; end (Infinity while open, so that `at < end` needs no special case);
 * reach, the latest end of this binding and every binding before it in its list, so that
 * a backward scan for one still open at `at` stops as soon as reach falls to `at`; seq,
 * the order of addition, which breaks a tie between bindings started in one millisecond;
 * the list (address and port block) that holds it; and its id and session id. A lookup
 * at random touches one record of times and one of texts, both found from the slot alone.
 */
export class BindingRecords {
  readonly byId: IdTable;
  private readonly times = new SlotPages(() => new Float64Array((PAGE_MASK + 1) * TIMES));
  /** The list of each slot; links free slots once released. */
  private readonly lists = new SlotPages(() => new Int32Array(PAGE_MASK + 1));
  private readonly texts = new SlotTexts();
  private used = 0;
  private free = NONE;

  constructor(capacity = 1) {
    this.reserve(capacity);
    this.byId = new IdTable((slot, id) => this.texts.firstIs(slot, id));
  }

  /** Fills a fresh slot and returns it; the caller has checked that `id` is new. */
  add(id: string, sessionId: string, list: number, start: number, end: number, seq: number): number {
    let slot = this.free;
    if (slot !== NONE) {
      this.free = this.list(slot);
    } else {
      slot = this.used++;
      this.reserve(this.used);
    }
    const times = this.times.pages[slot >>> PAGE_BITS]!;
    const at = (slot & PAGE_MASK) * TIMES;
    times[at + START] = start;
    times[at + END] = end;
    times[at + SEQ] = seq;
    this.setList(slot, list);
    this.texts.set(slot, id, sessionId);
    this.byId.insert(slot, id);
    return slot;
  }

  release(slot: number): void {
    this.byId.delete(slot, this.texts.first(slot));
    this.texts.clear(slot);
    this.setList(slot, this.free);
    this.free = slot;
  }

  start(slot: number): number {
    return this.times.pages[slot >>> PAGE_BITS]![(slot & PAGE_MASK) * TIMES + START]!;
  }

  end(slot: number): number {
    return this.times.pages[slot >>> PAGE_BITS]![(slot & PAGE_MASK) * TIMES + END]!;
  }

  setEnd(slot: number, end: number): void {
    this.times.pages[slot >>> PAGE_BITS]![(slot & PAGE_MASK) * TIMES + END] = end;
  }

  reach(slot: number): number {
    return this.times.pages[slot >>> PAGE_BITS]![(slot & PAGE_MASK) * TIMES + REACH]!;
  }

  setReach(slot: number, reach: number): void {
    this.times.pages[slot >>> PAGE_BITS]![(slot & PAGE_MASK) * TIMES + REACH] = reach;
  }

  seq(slot: number): number {
    return this.times.pages[slot >>> PAGE_BITS]![(slot & PAGE_MASK) * TIMES + SEQ]!;
  }

  list(slot: number): number {
    return this.lists.pages[slot >>> PAGE_BITS]![slot & PAGE_MASK]!;
  }

  /** The binding's id and session id. */
  ids(slot: number): readonly [string, string] {
    return this.texts.both(slot);
  }

  private setList(slot: number, list: number): void {
    this.lists.pages[slot >>> PAGE_BITS]![slot & PAGE_MASK] = list;
  }

  private reserve(slots: number): void {
    if (slots <= this.lists.capacity) return;
    this.times.reserve(slots);
    this.lists.reserve(slots);
    this.texts.reserve(slots);
  }
}
