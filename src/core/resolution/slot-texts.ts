import { Buffer } from 'node:buffer';
import { PAGE_BITS, PAGE_MASK, SlotPages } from './slot-pages.ts';

/** Bytes per slot: one cache line, which the records of a page (a fresh mapping) line up with. */
const RECORD = 64;
/** A first length byte saying the pair is kept as strings in `wide`, not as bytes. */
const WIDE = 255;

/**
 * A pair of short texts per slot (a binding id and its session id) as Latin-1 bytes in a
 * record of 64 bytes: two lengths, then both texts. The record's place follows from the
 * slot, so it can be fetched alongside the slot's times rather than after another load;
 * and a million ids held as strings would be two million heap objects of 48 bytes each
 * for the collector to trace at every major GC.
 *
 * A pair longer than 62 bytes together, or with a character above U+00FF, is kept as
 * strings: Sideband's ids are 30 characters.
 */
export class SlotTexts {
  /** Each page's bytes, with a Buffer over them for decoding. */
  private readonly pages = new SlotPages(() => {
    const bytes = new Uint8Array((PAGE_MASK + 1) * RECORD);
    return { bytes, view: Buffer.from(bytes.buffer) };
  });
  private readonly wide = new Map<number, readonly [string, string]>();

  /** Makes room for slots below `slots`. */
  reserve(slots: number): void {
    this.pages.reserve(slots);
  }

  set(slot: number, first: string, second: string): void {
    const bytes = this.pages.pages[slot >>> PAGE_BITS]!.bytes;
    const at = (slot & PAGE_MASK) * RECORD;
    this.wide.delete(slot);
    if (2 + first.length + second.length > RECORD || !isLatin1(first) || !isLatin1(second)) {
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
    const at = (slot & PAGE_MASK) * RECORD;
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
    const at = (slot & PAGE_MASK) * RECORD;
    const n = bytes[at]!;
    if (n === WIDE) return this.wide.get(slot)![0] === text;
    if (n !== text.length) return false;
    for (let k = 0; k < n; k++) if (bytes[at + 2 + k] !== text.charCodeAt(k)) return false;
    return true;
  }

  clear(slot: number): void {
    const bytes = this.pages.pages[slot >>> PAGE_BITS]!.bytes;
    this.wide.delete(slot);
    bytes[(slot & PAGE_MASK) * RECORD] = 0;
    bytes[(slot & PAGE_MASK) * RECORD + 1] = 0;
  }
}

function isLatin1(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0xff) return false;
  return true;
}
