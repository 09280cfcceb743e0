import { SidebandError } from '../../errors/sideband-error.ts';
import { grown } from './grown.ts';

const NONE = -1;
// 1 << 30 is the largest block an int32 offset can address.
const MAX_CLASS = 30;
// A list's header: length, then where its values are, then the owner's words.
const LENGTH = 0;
const SIZE_CLASS = 1;
const OFFSET = 2;
const INLINE_AT = 3;
/** Values a list keeps in its header before it needs a block. */
const INLINE = 8;
const OWN_WORDS = INLINE_AT + INLINE;
/**
 * Once a list has a block, its header's inline words are free: they keep the keys of its
 * first and last entries, as float64 words (the word index halved), so that a search
 * guesses from the header alone instead of first reading both ends of the block, a
 * miss that the guess must wait for. Even word indices, in headers of an even stride.
 */
const FIRST_KEY = 4;
const LAST_KEY = 6;
/** The size class of the first block, twice what the header holds. */
const SPILL_CLASS = 4;
/** Lists longer than this are searched from an interpolated guess; shorter ones, a few cache lines, are read through. */
const INTERPOLATE = 32;
/** The first step away from a guess: two cache lines of entries. */
const LINE = 8;

/**
 * Many short growable lists of int32 values sorted by a float64 key (binding slots by
 * start time), so that half a million address histories cost a few bytes each rather
 * than a JS array (and a GC-traced object) each, and a search costs few cache misses.
 *
 * Each list has a header of int32 words: the arena's, then `ownerWords` for whoever owns
 * the list. Up to eight values live in the header itself, their keys asked of `keyOf`:
 * a lookup on a short history reads one header and a record or two. A longer list holds
 * `1 << sizeClass` entries in a block of `entries`, each its key then its value as two
 * float64 words, so that a search over a year of history walks one contiguous run rather
 * than a record per probe, and finds the value in the line of the key it ends on (values
 * kept apart from their keys cost a search one more miss); its header keeps the keys of
 * the block's first and last entries, so that a search starts from the header. A full
 * block moves to one twice the size; freed blocks are reused per size class.
 */
export class SortedListArena {
  /** Per list, `stride` words: the arena's, then the owner's from `ownerWord`. */
  header: Int32Array;
  /** The same memory as `header`, for the keys of a block's ends. */
  private headerKeys: Float64Array;
  readonly stride: number;
  readonly ownerWord = OWN_WORDS;
  /** Per entry of a block, its key then its value; a block's offset counts entries. */
  private entries = new Float64Array(2 * 4096);
  private top = 0;
  private lists = 0;
  private freeList = NONE;
  private readonly freeBlocks = new Int32Array(MAX_CLASS + 1).fill(NONE);

  constructor(
    ownerWords: number,
    private readonly keyOf: (value: number) => number,
  ) {
    // Even, so that every header's FIRST_KEY and LAST_KEY are 8-byte aligned.
    this.stride = (OWN_WORDS + ownerWords + 1) & ~1;
    this.header = new Int32Array(256 * this.stride);
    this.headerKeys = new Float64Array(this.header.buffer);
  }

  lengthOf(list: number): number {
    return this.header[list * this.stride + LENGTH]!;
  }

  /** The `index`th value of `list`. */
  at(list: number, index: number): number {
    const h = list * this.stride;
    return this.header[h + LENGTH]! <= INLINE ? this.header[h + INLINE_AT + index]! : this.entries[2 * (this.header[h + OFFSET]! + index) + 1]!;
  }

  /** How many values of `list` have a key at or below `key`. */
  countUpTo(list: number, key: number): number {
    const h = list * this.stride;
    const length = this.header[h + LENGTH]!;
    let count = 0;
    if (length <= INLINE) {
      // Every key, not a bisection: the keys of a header's values are asked of their
      // owner (a record each, elsewhere in memory), and reads that do not wait on one
      // another's answer miss the cache side by side rather than one after another.
      for (let i = 0; i < length; i++) if (this.keyOf(this.header[h + INLINE_AT + i]!) <= key) count++;
      return count;
    }
    const entries = this.entries;
    // The key of entry i is entries[base + 2 * i].
    const base = 2 * this.header[h + OFFSET]!;
    // A bound before or after the whole list (a lookup outside an address's history, or
    // one of the many port blocks `isPortBlocked` asks) is answered from its two ends.
    const first = this.headerKeys[(h + FIRST_KEY) >> 1]!;
    const last = this.headerKeys[(h + LAST_KEY) >> 1]!;
    if (key < first) return 0;
    if (key >= last) return length;
    if (length <= INTERPOLATE) {
      // A few cache lines in a row: read through, the reads run ahead of the compares.
      for (let i = 1; i < length - 1; i++) if (entries[base + 2 * i]! <= key) count++;
      return count + 1;
    }
    // A long list is one address's history, its starts spread about evenly over time: a
    // guess by interpolation, then steps doubling away from it, leave a binary search of
    // a few entries. Bisecting from the middle missed the cache at nearly every halving;
    // this reads the two ends side by side, then a line or two.
    let lo = 0;
    let hi = length;
    const guess = Math.floor(((key - first) / (last - first)) * (length - 1));
    // Out of range (or NaN) only where the span overflows: then bisect the whole list.
    if (guess >= 0 && guess < length) {
      if (entries[base + 2 * guess]! <= key) {
        lo = guess + 1;
        for (let step = LINE; guess + step < length; step *= 2) {
          if (entries[base + 2 * (guess + step)]! > key) {
            hi = guess + step;
            break;
          }
          lo = guess + step + 1;
        }
      } else {
        hi = guess;
        for (let step = LINE; guess - step >= 0; step *= 2) {
          if (entries[base + 2 * (guess - step)]! <= key) {
            lo = guess - step + 1;
            break;
          }
          hi = guess - step;
        }
      }
    }
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (entries[base + 2 * mid]! <= key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Creates an empty list and returns its handle (handles of released lists are reused). */
  create(): number {
    let list = this.freeList;
    if (list !== NONE) {
      this.freeList = this.header[list * this.stride + OFFSET]!;
    } else {
      list = this.lists++;
      if ((list + 1) * this.stride > this.header.length) {
        this.header = grown(this.header, this.header.length * 2);
        this.headerKeys = new Float64Array(this.header.buffer);
      }
    }
    const h = list * this.stride;
    this.header.fill(0, h, h + this.stride);
    return list;
  }

  /** Frees an emptied list. */
  release(list: number): void {
    this.header[list * this.stride + OFFSET] = this.freeList;
    this.freeList = list;
  }

  /** Empties `list`, freeing its block if it has one. */
  clear(list: number): void {
    const h = list * this.stride;
    if (this.header[h + LENGTH]! > INLINE) this.freeBlock(this.header[h + OFFSET]!, this.header[h + SIZE_CLASS]!);
    this.header[h + LENGTH] = 0;
  }

  /** Inserts `value`, whose key is `keyOf(value)`, at `index`; the caller keeps the order. */
  insert(list: number, index: number, value: number): void {
    const h = list * this.stride;
    const length = this.header[h + LENGTH]!;
    if (length < INLINE) {
      this.header.copyWithin(h + INLINE_AT + index + 1, h + INLINE_AT + index, h + INLINE_AT + length);
      this.header[h + INLINE_AT + index] = value;
    } else {
      if (length === INLINE) this.spill(h);
      else if (length === 1 << this.header[h + SIZE_CLASS]!) this.enlarge(h);
      const at = 2 * (this.header[h + OFFSET]! + index);
      this.entries.copyWithin(at + 2, at, at + 2 * (length - index));
      this.entries[at] = this.keyOf(value);
      this.entries[at + 1] = value;
      this.keepEnds(h, length + 1);
    }
    this.header[h + LENGTH] = length + 1;
  }

  removeAt(list: number, index: number): void {
    const h = list * this.stride;
    const length = this.header[h + LENGTH]!;
    if (length <= INLINE) {
      this.header.copyWithin(h + INLINE_AT + index, h + INLINE_AT + index + 1, h + INLINE_AT + length);
    } else {
      const start = this.header[h + OFFSET]!;
      const at = 2 * (start + index);
      this.entries.copyWithin(at, at + 2, at + 2 * (length - index));
      // Back into the header once it fits there again.
      if (length - 1 === INLINE) {
        for (let i = 0; i < INLINE; i++) this.header[h + INLINE_AT + i] = this.entries[2 * (start + i) + 1]!;
        this.freeBlock(start, this.header[h + SIZE_CLASS]!);
      } else {
        this.keepEnds(h, length - 1);
      }
    }
    this.header[h + LENGTH] = length - 1;
  }

  /** Moves a full header's values to a block with room to grow. */
  private spill(h: number): void {
    const block = this.allocate(SPILL_CLASS);
    for (let i = 0; i < INLINE; i++) {
      const value = this.header[h + INLINE_AT + i]!;
      this.entries[2 * (block + i)] = this.keyOf(value);
      this.entries[2 * (block + i) + 1] = value;
    }
    this.header[h + OFFSET] = block;
    this.header[h + SIZE_CLASS] = SPILL_CLASS;
    this.keepEnds(h, INLINE);
  }

  /** Copies the keys of the first and last of `length` entries of the block of the header at `h` into the header. */
  private keepEnds(h: number, length: number): void {
    const base = 2 * this.header[h + OFFSET]!;
    this.headerKeys[(h + FIRST_KEY) >> 1] = this.entries[base]!;
    this.headerKeys[(h + LAST_KEY) >> 1] = this.entries[base + 2 * (length - 1)]!;
  }

  private enlarge(h: number): void {
    const cls = this.header[h + SIZE_CLASS]!;
    const from = this.header[h + OFFSET]!;
    const to = this.allocate(cls + 1);
    this.entries.copyWithin(2 * to, 2 * from, 2 * (from + (1 << cls)));
    this.freeBlock(from, cls);
    this.header[h + OFFSET] = to;
    this.header[h + SIZE_CLASS] = cls + 1;
  }

  private allocate(cls: number): number {
    if (cls > MAX_CLASS) throw new SidebandError('INTERNAL', 'A binding history outgrew 2^30 entries.');
    const reused = this.freeBlocks[cls]!;
    if (reused !== NONE) {
      this.freeBlocks[cls] = this.entries[2 * reused + 1]!;
      return reused;
    }
    const size = 1 << cls;
    if (2 * (this.top + size) > this.entries.length) {
      let capacity = this.entries.length * 2;
      while (2 * (this.top + size) > capacity) capacity *= 2;
      this.entries = grown(this.entries, capacity);
    }
    const block = this.top;
    this.top += size;
    return block;
  }

  private freeBlock(block: number, cls: number): void {
    this.entries[2 * block + 1] = this.freeBlocks[cls]!;
    this.freeBlocks[cls] = block;
  }
}
