import type { AddressKey } from './address-key.ts';

/** Marks a free cell; -1 stays a storable value, so an address can be kept with "nothing". */
const FREE = -0x80000000;

/**
 * A map from address key to an int, -1 standing for absent. Keys live in open-addressed
 * tables of typed arrays, an IPv4 address as one 32-bit word and an IPv6 address as four:
 * a JS Map would spend a boxed number and three words on each of a million entries, and a
 * lookup by string key chases a pointer to the stored string before it can compare.
 * Entries are never deleted: an address is forgotten only with its pool.
 */
export class AddressTable {
  private readonly v4 = new WordTable(1);
  private readonly v6 = new WordTable(4);
  private readonly words = new Int32Array(4);

  /** The value stored for `key`, or -1. */
  get(key: AddressKey): number {
    return typeof key === 'number' ? this.v4.get(this.toWords(key)) : this.v6.get(this.toWords(key));
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

/** Open addressing with linear probing over keys of `width` int32 words, kept at most half full. */
class WordTable {
  private keys: Int32Array;
  private values = new Int32Array(1024).fill(FREE);
  private shift = 32 - 10;
  private count = 0;

  constructor(private readonly width: number) {
    this.keys = new Int32Array(1024 * width);
  }

  get(words: Int32Array): number {
    const { keys, values, width } = this;
    const mask = values.length - 1;
    for (let i = this.home(words); ; i = (i + 1) & mask) {
      const v = values[i]!;
      if (v === FREE) return -1;
      if (matches(keys, i * width, words, 0, width)) return v;
    }
  }

  set(words: Int32Array, value: number): void {
    if ((this.count + 1) * 2 > this.values.length) this.grow();
    if (this.place(words, 0, value)) this.count++;
  }

  private home(words: Int32Array, from = 0): number {
    let h = 0;
    for (let w = 0; w < this.width; w++) h = Math.imul(h ^ words[from + w]!, 0x9e3779b1) ^ (h >>> 15);
    return Math.imul(h, 0x85ebca6b) >>> this.shift;
  }

  /** Stores without growing; true when the key is new. */
  private place(words: Int32Array, from: number, value: number): boolean {
    const { keys, values, width } = this;
    const mask = values.length - 1;
    for (let i = this.home(words, from); ; i = (i + 1) & mask) {
      if (values[i] === FREE) {
        for (let w = 0; w < width; w++) keys[i * width + w] = words[from + w]!;
        values[i] = value;
        return true;
      }
      if (matches(keys, i * width, words, from, width)) {
        values[i] = value;
        return false;
      }
    }
  }

  private grow(): void {
    const { keys, values, width } = this;
    this.keys = new Int32Array(keys.length * 2);
    this.values = new Int32Array(values.length * 2).fill(FREE);
    this.shift--;
    for (let i = 0; i < values.length; i++) {
      if (values[i] !== FREE) this.place(keys, i * width, values[i]!);
    }
  }
}

function matches(keys: Int32Array, at: number, words: Int32Array, from: number, width: number): boolean {
  for (let w = 0; w < width; w++) if (keys[at + w] !== words[from + w]) return false;
  return true;
}
