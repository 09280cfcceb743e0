import { Buffer } from 'node:buffer';
import { PAGE_BITS, PAGE_MASK, SlotPages } from './slot-pages.ts';

/** Bytes a pair takes in its record: two lengths, then both texts. */
export const TEXT_BYTES = 64;
/** A first length byte saying the pair is kept as strings in `wide`, not as bytes. */
const WIDE = 255;

/** A page of records, each `stride` bytes, with a Buffer over the same memory for decoding. */
export interface TextPage {
  readonly bytes: Uint8Array;
  readonly view: Buffer;
}

/**
 * A pair of short texts per slot (a binding id and its session id) as Latin-1 bytes in
 * 64 bytes of the slot's record: two lengths, then both texts. The record's place follows
 * from the slot, and it may share its page with the slot's other fields (as
 * {@link BindingRecords} does, so that a lookup misses once for a binding, not once for
 * its times and again for its ids); and a million ids held as strings would be two
 * million heap objects of 48 bytes each for the collector to trace at every major GC.
 *
 * A pair longer than 62 bytes together, or with a character above U+00FF, is kept as
 * strings: Sideband's ids are 30 characters.
 */
export class SlotTexts {
  private readonly wide = new Map<number, readonly [string, string]>();

  /**
   * `pages` hold the records, `stride` bytes each with the texts `offset` bytes in; by
   * default records of their own, one cache line each.
   */
  constructor(
    private readonly pages: SlotPages<TextPage> = new SlotPages(() => textPage(new ArrayBuffer((PAGE_MASK + 1) * TEXT_BYTES))),
    private readonly stride = TEXT_BYTES,
    private readonly offset = 0,
  ) {}

  /** Makes room for slots below `slots`. */
  reserve(slots: number): void {
    this.pages.reserve(slots);
  }

  set(slot: number, first: string, second: string): void {
    const bytes = this.pages.pages[slot >>> PAGE_BITS]!.bytes;
    const at = this.at(slot);
    this.wide.delete(slot);
    if (2 + first.length + second.length > TEXT_BYTES || !isLatin1(first) || !isLatin1(second)) {
      bytes[at] = WIDE;
      this.wide.set(slot, [first, second]);
      return;
    }
    bytes[at] = first.length;
    bytes[at + 1] = second.length;
    let i = at + 2;
    for (let k = 0; k < first.length; k++) bytes[i++] = first.charCodeAt(k);
    for (let k = 0; k < second.length; k++) bytes[i++] = second.charCodeAt(k);
  }

  /** Both texts; decoded as one string and sliced, which costs one call into the runtime rather than two. */
  both(slot: number): readonly [string, string] {
    const { bytes, view } = this.pages.pages[slot >>> PAGE_BITS]!;
    const at = this.at(slot);
    const n = bytes[at]!;
    if (n === WIDE) return this.wide.get(slot)!;
    const text = view.toString('latin1', at + 2, at + 2 + n + bytes[at + 1]!);
    return [text.slice(0, n), text.slice(n)];
  }

  first(slot: number): string {
    return this.both(slot)[0];
  }

  /** Whether the slot's first text is `text`, compared in place. */
  firstIs(slot: number, text: string): boolean {
    const bytes = this.pages.pages[slot >>> PAGE_BITS]!.bytes;
    const at = this.at(slot);
    const n = bytes[at]!;
    if (n === WIDE) return this.wide.get(slot)![0] === text;
    if (n !== text.length) return false;
    for (let k = 0; k < n; k++) if (bytes[at + 2 + k] !== text.charCodeAt(k)) return false;
    return true;
  }

  clear(slot: number): void {
    const bytes = this.pages.pages[slot >>> PAGE_BITS]!.bytes;
    const at = this.at(slot);
    this.wide.delete(slot);
    bytes[at] = 0;
    bytes[at + 1] = 0;
  }

  private at(slot: number): number {
    return (slot & PAGE_MASK) * this.stride + this.offset;
  }
}

/** A text page over `buffer`, which another view may share. */
export function textPage(buffer: ArrayBuffer): TextPage {
  return { bytes: new Uint8Array(buffer), view: Buffer.from(buffer) };
}

function isLatin1(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0xff) return false;
  return true;
}
