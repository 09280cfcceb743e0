import type { AddressKey } from './address-key.ts';

/** Marks a free cell; -1 stays a storable value, so an address can be kept with "nothing". */
const FREE = -0x80000000;
/** What `get` answers for a key it does not hold; stored values may be -1 too. */
const NOT_FOUND = -1;

/**
 * A map from address key to an int, -1 standing for absent. Keys live in open-addressed
 * tables of typed arrays, an IPv4 address as one 32-bit word and an IPv6 address as four,
 * each cell holding its key and value side by side so that a probe costs one cache line:
 * a JS Map would spend a boxed number and three words on each of a million entries, and a
 * lookup by string key chases a pointer to the stored string before it can compare.
 * Entries are never deleted: an address is forgotten only with its pool.
 *
 * A table may keep `extraWords` more ints in each cell beside the value (-1 until set),
 * read after a `get` from the cell it found: what the owner wants at hand without another
 * miss. Such a table fills its cells up to three quarters rather than half, so that the
 * larger cells cost about the memory the smaller ones did.
 */
export class AddressTable {
  private readonly v4: WordTable;
  private readonly v6: WordTable;
  private readonly words = new Int32Array(4);
  /** The table the last `get` looked in. */
  private asked: WordTable;

  /** `halfFull`: keep the table at most half full even with extra words (misses end sooner). */
  constructor(extraWords = 0, halfFull = extraWords === 0) {
    this.v4 = new WordTable(1, extraWords, halfFull);
    this.v6 = new WordTable(4, extraWords, halfFull);
    this.asked = this.v4;
  }

  /** The value stored for `key`, or -1. */
  get(key: AddressKey): number {
    if (typeof key === 'number') {
      this.asked = this.v4;
      return this.v4.getWord(key | 0);
    }
    this.asked = this.v6;
    return this.v6.get(this.toWords(key));
  }

  /** Extra word `k` of the cell the last `get` found (-1 if it found none): no second probe. */
  extraOfFound(k: number): number {
    return this.asked.extraOfFound(k);
  }

  /** Sets extra word `k` of the cell the last `get` found; nothing when it found none. */
  setExtraOfFound(k: number, value: number): void {
    this.asked.setExtraOfFound(k, value);
  }

  /**
   * The value stored for the network of the `length`-bit prefix that IPv6 key `key` lies
   * in (its first `length` bits, the rest zero), or -1: a longest-prefix match probes one
   * length after another without making each network's key.
   */
  getPrefix(key: string, length: number): number {
    this.asked = this.v6;
    return this.v6.get(this.networkWords(key, length));
  }

  /**
   * Sets extra word `k` of the cell of the `length`-bit network that IPv6 key `key` lies
   * in, adding that network with the value -1 when the table does not hold it yet.
   */
  setPrefixExtra(key: string, length: number, k: number, value: number): void {
    const words = this.networkWords(key, length);
    this.v6.get(words);
    if (this.v6.extraOfFound(k) === value) return;
    if (!this.v6.found) this.v6.set(words, NOT_FOUND);
    this.v6.setExtraOfFound(k, value);
  }

  /** Every IPv6 key the table holds, whatever its value. */
  forEachV6(visit: (key: string) => void): void {
    this.v6.forEachKey((words) => {
      let key = '';
      for (let w = 0; w < 4; w++) key += String.fromCharCode(words[w]! >>> 16, words[w]! & 0xffff);
      visit(key);
    });
  }

  /** The words of `key`'s first `length` bits, the rest zero. */
  private networkWords(key: string, length: number): Int32Array {
    const words = this.toWords(key);
    for (let w = 0; w < 4; w++) {
      const bits = length - 32 * w;
      if (bits <= 0) words[w] = 0;
      else if (bits < 32) words[w] = words[w]! & ~(-1 >>> bits);
    }
    return words;
  }

  set(key: AddressKey, value: number): void {
    if (typeof key === 'number') this.v4.set(this.toWords(key), value);
    else this.v6.set(this.toWords(key), value);
  }

  private toWords(key: AddressKey): Int32Array {
    const words = this.words;
    if (typeof key === 'number') {
      words[0] = key;
    } else {
      for (let w = 0; w < 4; w++) words[w] = (key.charCodeAt(2 * w) << 16) | key.charCodeAt(2 * w + 1);
    }
    return words;
  }
}

/**
 * Open addressing with linear probing over keys of `width` int32 words, each cell the key's
 * words, the value, then `extra` words; kept at most half full, or three quarters unless
 * `halfFull`.
 */
class WordTable {
  private cells: Int32Array;
  private readonly stride: number;
  /** Cells - 1: cells are a power of two. */
  private mask = 1024 - 1;
  private shift = 32 - 10;
  private count = 0;
  /** Where the cell the last get or getWord found starts in `cells`; -1 when it found none. */
  private foundAt = -1;
  /**
   * Mixed into a multi-word key's hash, different per table: keys copied from one table in
   * its cell order (PortBlockLists' backfill of a new prefix length) would otherwise arrive
   * in the other's home order and pile into one cluster, quadratic in their number. The
   * IPv4 table's one-word hash (getWord) stays unseeded.
   */
  private readonly seed: number;

  constructor(
    private readonly width: number,
    private readonly extra: number,
    private readonly halfFull: boolean,
  ) {
    this.stride = width + 1 + extra;
    this.seed = width === 1 ? 0 : Math.imul(++tables, 0x9e3779b1);
    this.cells = emptyCells(this.mask + 1, this.stride, width);
  }

  get(words: Int32Array): number {
    const { cells, stride, width, mask } = this;
    for (let i = this.home(words, 0); ; i = (i + 1) & mask) {
      const at = i * stride;
      const value = cells[at + width]!;
      if (value === FREE) {
        this.foundAt = -1;
        return NOT_FOUND;
      }
      if (matches(cells, at, words, 0, width)) {
        this.foundAt = at;
        return value;
      }
    }
  }

  /** `get` for a table of one-word keys, on the word itself: the IPv4 lookup, the hot one. */
  getWord(word: number): number {
    const { cells, stride, mask } = this;
    // home() of one word.
    for (let i = Math.imul(Math.imul(word, 0x9e3779b1), 0x85ebca6b) >>> this.shift; ; i = (i + 1) & mask) {
      const at = i * stride;
      const value = cells[at + 1]!;
      if (value === FREE) {
        this.foundAt = -1;
        return NOT_FOUND;
      }
      if (cells[at] === word) {
        this.foundAt = at;
        return value;
      }
    }
  }

  /** Whether the last get or getWord found its key. */
  get found(): boolean {
    return this.foundAt >= 0;
  }

  extraOfFound(k: number): number {
    return this.foundAt < 0 ? -1 : this.cells[this.foundAt + this.width + 1 + k]!;
  }

  forEachKey(visit: (words: Int32Array) => void): void {
    const { cells, stride, width } = this;
    for (let at = 0; at < cells.length; at += stride) if (cells[at + width] !== FREE) visit(cells.subarray(at, at + width));
  }

  setExtraOfFound(k: number, value: number): void {
    if (this.foundAt >= 0) this.cells[this.foundAt + this.width + 1 + k] = value;
  }

  set(words: Int32Array, value: number): void {
    const cells = this.cells.length / this.stride;
    if (this.halfFull ? (this.count + 1) * 2 > cells : (this.count + 1) * 4 > cells * 3) this.grow();
    if (this.place(words, 0, value)) this.count++;
  }

  private home(words: Int32Array, from: number): number {
    let h = this.seed;
    for (let w = 0; w < this.width; w++) h = Math.imul(h ^ words[from + w]!, 0x9e3779b1) ^ (h >>> 15);
    return Math.imul(h, 0x85ebca6b) >>> this.shift;
  }

  /** Stores without growing; true when the key is new. */
  private place(words: Int32Array, from: number, value: number): boolean {
    const { cells, stride, width, mask } = this;
    for (let i = this.home(words, from); ; i = (i + 1) & mask) {
      const at = i * stride;
      if (cells[at + width] === FREE) {
        for (let w = 0; w < width; w++) cells[at + w] = words[from + w]!;
        cells[at + width] = value;
        this.foundAt = at;
        return true;
      }
      if (matches(cells, at, words, from, width)) {
        cells[at + width] = value;
        this.foundAt = at;
        return false;
      }
    }
  }

  private grow(): void {
    const old = this.cells;
    const { stride, width } = this;
    this.mask = this.mask * 2 + 1;
    this.cells = emptyCells(this.mask + 1, stride, width);
    this.shift--;
    for (let at = 0; at < old.length; at += stride) {
      if (old[at + width] === FREE) continue;
      this.place(old, at, old[at + width]!);
      this.cells.set(old.subarray(at + width + 1, at + stride), this.foundAt + width + 1);
    }
  }
}

let tables = 0;

/** Free cells, their extra words -1. */
function emptyCells(count: number, stride: number, width: number): Int32Array {
  const cells = new Int32Array(count * stride).fill(-1);
  for (let at = width; at < cells.length; at += stride) cells[at] = FREE;
  return cells;
}

function matches(cells: Int32Array, at: number, words: Int32Array, from: number, width: number): boolean {
  for (let w = 0; w < width; w++) if (cells[at + w] !== words[from + w]) return false;
  return true;
}
