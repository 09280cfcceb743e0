import { grown } from './grown.ts';
import type { TextColumn } from './text-column.ts';

const EMPTY = -1;

/**
 * Binding id → slot, open-addressed over an Int32Array of slots whose ids live in a
 * {@link TextColumn}: a JS Map of a million string keys costs ~29 MB and a string object
 * per key; this costs 12 bytes a binding. Each slot's hash is kept so that a probe
 * compares ids only on a hash match (Sideband ids of one second share their first
 * ten characters) and so that growing needs no rehash of the text.
 */
export class IdTable {
  private cells = new Int32Array(1024).fill(EMPTY);
  private hashes: Int32Array;
  private count = 0;

  constructor(
    private readonly ids: TextColumn,
    slots: number,
  ) {
    this.hashes = new Int32Array(slots);
  }

  get size(): number {
    return this.count;
  }

  /** Makes room for slots below `slots`. */
  resize(slots: number): void {
    this.hashes = grown(this.hashes, slots);
  }

  /** The slot holding `id`, or -1. */
  find(id: string): number {
    const hash = hashText(id);
    const cells = this.cells;
    const mask = cells.length - 1;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const slot = cells[i]!;
      if (slot === EMPTY) return EMPTY;
      if (this.hashes[slot] === hash && this.ids.equals(slot, id)) return slot;
    }
  }

  /** Records `slot`, whose id is already in the column and not yet in the table. */
  insert(slot: number, id: string): void {
    if ((this.count + 1) * 2 > this.cells.length) this.grow();
    const hash = hashText(id);
    this.hashes[slot] = hash;
    this.place(slot, hash);
    this.count++;
  }

  /** Forgets `slot`; backward-shift deletion keeps every probe run unbroken without tombstones. */
  delete(slot: number): void {
    const cells = this.cells;
    const mask = cells.length - 1;
    let hole = this.hashes[slot]! & mask;
    while (cells[hole] !== slot) hole = (hole + 1) & mask;
    for (let i = (hole + 1) & mask; cells[i] !== EMPTY; i = (i + 1) & mask) {
      const home = this.hashes[cells[i]!]! & mask;
      // Move the entry back into the hole unless its home lies cyclically in (hole, i].
      if (i > hole ? home <= hole || home > i : home <= hole && home > i) {
        cells[hole] = cells[i]!;
        hole = i;
      }
    }
    cells[hole] = EMPTY;
    this.count--;
  }

  private place(slot: number, hash: number): void {
    const cells = this.cells;
    const mask = cells.length - 1;
    let i = hash & mask;
    while (cells[i] !== EMPTY) i = (i + 1) & mask;
    cells[i] = slot;
  }

  private grow(): void {
    const old = this.cells;
    this.cells = new Int32Array(old.length * 2).fill(EMPTY);
    for (let i = 0; i < old.length; i++) if (old[i] !== EMPTY) this.place(old[i]!, this.hashes[old[i]!]!);
  }
}

/** FNV-1a over UTF-16 code units, finished with a multiplicative mix so low bits spread. */
function hashText(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 1;
}
