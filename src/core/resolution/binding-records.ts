import { IdTable } from './id-table.ts';
import { PAGE_BITS, PAGE_MASK, SlotPages } from './slot-pages.ts';
import { SlotTexts, TEXT_BYTES, textPage, type TextPage } from './slot-texts.ts';

const NONE = -1;
// A slot's float64 words: 32 bytes, within one cache line, hold all a search reads.
const START = 0;
const END = 1;
const REACH = 2;
const SEQ = 3;
const TIMES_BYTES = 32;
/** A slot's record: its times, then its texts. */
const RECORD = TIMES_BYTES + TEXT_BYTES;
const WORDS = RECORD / 8;

/** A page of records, seen as float64 words for the times and as bytes for the texts. */
interface RecordPage extends TextPage {
  readonly times: Float64Array;
}

/**
 * The bindings of an index, one slot per binding, stored record by record in typed
 * arrays and found by id: a million bindings are a few hundred buffers, not millions of
 * objects for the collector to trace. Slots of removed bindings are reused.
 *
 * Per slot: start; end (Infinity while open, so that `at < end` needs no special case);
 * reach, the latest end of this binding and every binding before it in its list, so that
 * a backward scan for one still open at `at` stops as soon as reach falls to `at`; seq,
 * the order of addition, which breaks a tie between bindings started in one millisecond;
 * and its id and session id. All of these share one record of 96 bytes, two cache lines
 * of one page, so that a lookup at random, which reads both halves, walks the page
 * tables once and issues two loads that run side by side; kept in records of their own,
 * times and texts measured a third fewer lookups per second at random. The list (address
 * and port block) holding each slot, which lookups never read, is kept apart.
 */
export class BindingRecords {
  readonly byId: IdTable;
  private readonly records = new SlotPages<RecordPage>(() => {
    const buffer = new ArrayBuffer((PAGE_MASK + 1) * RECORD);
    return { times: new Float64Array(buffer), ...textPage(buffer) };
  });
  /** The list of each slot; links free slots once released. */
  private readonly lists = new SlotPages(() => new Int32Array(PAGE_MASK + 1));
  private readonly texts = new SlotTexts(this.records, RECORD, TIMES_BYTES);
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
    const times = this.records.pages[slot >>> PAGE_BITS]!.times;
    const at = (slot & PAGE_MASK) * WORDS;
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
    return this.records.pages[slot >>> PAGE_BITS]!.times[(slot & PAGE_MASK) * WORDS + START]!;
  }

  end(slot: number): number {
    return this.records.pages[slot >>> PAGE_BITS]!.times[(slot & PAGE_MASK) * WORDS + END]!;
  }

  setEnd(slot: number, end: number): void {
    this.records.pages[slot >>> PAGE_BITS]!.times[(slot & PAGE_MASK) * WORDS + END] = end;
  }

  reach(slot: number): number {
    return this.records.pages[slot >>> PAGE_BITS]!.times[(slot & PAGE_MASK) * WORDS + REACH]!;
  }

  setReach(slot: number, reach: number): void {
    this.records.pages[slot >>> PAGE_BITS]!.times[(slot & PAGE_MASK) * WORDS + REACH] = reach;
  }

  seq(slot: number): number {
    return this.records.pages[slot >>> PAGE_BITS]!.times[(slot & PAGE_MASK) * WORDS + SEQ]!;
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
    this.records.reserve(slots);
    this.lists.reserve(slots);
  }
}
