import { Buffer } from 'node:buffer';
import { grown } from './grown.ts';

/** A length that says the text is kept as a string in `wide`, not as bytes. */
const WIDE = 255;
const CLEARED = -1;

/**
 * Short texts (binding and session ids) by slot, as Latin-1 bytes in one buffer. A
 * million ids held as strings are a million heap objects of 48 bytes each for the
 * collector to trace at every major GC; here they are 35 bytes each and none to trace.
 * A text with a character above U+00FF, or 255 characters or more, is kept as a string.
 *
 * Space of replaced or cleared texts is reclaimed by compaction once it is half the buffer.
 */
export class TextColumn {
  private bytes = new Uint8Array(1 << 16);
  private view = Buffer.from(this.bytes.buffer);
  private offset: Int32Array;
  private length: Uint8Array;
  private readonly wide = new Map<number, string>();
  private top = 0;
  private garbage = 0;

  constructor(slots: number) {
    this.offset = new Int32Array(slots).fill(CLEARED);
    this.length = new Uint8Array(slots);
  }

  /** Makes room for slots below `slots`. */
  resize(slots: number): void {
    const from = this.offset.length;
    this.offset = grown(this.offset, slots);
    this.offset.fill(CLEARED, from);
    this.length = grown(this.length, slots);
  }

  set(slot: number, text: string): void {
    this.clear(slot);
    const n = text.length;
    if (n >= WIDE || !isLatin1(text)) {
      this.wide.set(slot, text);
      this.offset[slot] = 0;
      this.length[slot] = WIDE;
      return;
    }
    if (this.top + n > this.bytes.length) this.makeRoom(n);
    const bytes = this.bytes;
    const at = this.top;
    for (let i = 0; i < n; i++) bytes[at + i] = text.charCodeAt(i);
    this.offset[slot] = at;
    this.length[slot] = n;
    this.top = at + n;
  }

  get(slot: number): string {
    const n = this.length[slot]!;
    if (n === WIDE) return this.wide.get(slot)!;
    const at = this.offset[slot]!;
    return this.view.toString('latin1', at, at + n);
  }

  equals(slot: number, text: string): boolean {
    const n = this.length[slot]!;
    if (n === WIDE) return this.wide.get(slot) === text;
    if (n !== text.length || this.offset[slot] === CLEARED) return false;
    const bytes = this.bytes;
    const at = this.offset[slot]!;
    for (let i = 0; i < n; i++) if (bytes[at + i] !== text.charCodeAt(i)) return false;
    return true;
  }

  clear(slot: number): void {
    if (this.offset[slot] === CLEARED) return;
    if (this.length[slot] === WIDE) this.wide.delete(slot);
    else this.garbage += this.length[slot]!;
    this.offset[slot] = CLEARED;
    this.length[slot] = 0;
  }

  private makeRoom(needed: number): void {
    const live = this.top - this.garbage;
    let size = this.bytes.length;
    // Mostly garbage: compacting into a buffer of the same size is enough.
    if (live + needed > size / 2) size *= 2;
    while (size < live + needed) size *= 2;
    const bytes = new Uint8Array(size);
    let top = 0;
    if (this.garbage === 0) {
      bytes.set(this.bytes.subarray(0, this.top));
      top = this.top;
    } else {
      // Compaction: copy each live text, in slot order, into the new buffer.
      for (let slot = 0; slot < this.offset.length; slot++) {
        const at = this.offset[slot]!;
        const n = this.length[slot]!;
        if (at === CLEARED || n === WIDE) continue;
        bytes.set(this.bytes.subarray(at, at + n), top);
        this.offset[slot] = top;
        top += n;
      }
    }
    this.bytes = bytes;
    this.view = Buffer.from(bytes.buffer);
    this.top = top;
    this.garbage = 0;
  }
}

function isLatin1(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0xff) return false;
  return true;
}
