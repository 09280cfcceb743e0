const EMPTY = -1;

/**
 * Binding id → slot, open-addressed over an Int32Array of (slot, hash) cells kept at most
 * half full; the ids themselves stay with their owner, asked through `holds`. A JS Map of
 * a million string keys costs ~29 MB and a string object per key; this, 8 bytes a cell.
 * The hash beside each slot lets a probe skip a foreign id without reading it (Sideband
 * ids of one second share their first ten characters) and lets the table grow without
 * rehashing text.
 */
export class IdTable {
  private cells = new Int32Array(2 * 1024).fill(EMPTY);
  private count = 0;

  constructor(private readonly holds: (slot: number, id: string) => boolean) {}

  get size(): number {
    return this.count;
  }

  /** The slot holding `id`, or -1. */
  find(id: string): number {
    const hash = hashId(id);
    const cells = this.cells;
    const mask = (cells.length >>> 1) - 1;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const slot = cells[2 * i]!;
      if (slot === EMPTY) return EMPTY;
      if (cells[2 * i + 1] === hash && this.holds(slot, id)) return slot;
    }
  }

  /** Records `slot` as holding `id`, which is not in the table yet. */
  insert(slot: number, id: string): void {
    if ((this.count + 1) * 4 > this.cells.length) this.grow();
    this.place(slot, hashId(id));
    this.count++;
  }

  /** Forgets `slot`, which holds `id`; backward-shift deletion keeps probe runs unbroken without tombstones. */
  delete(slot: number, id: string): void {
    const cells = this.cells;
    const mask = (cells.length >>> 1) - 1;
    let hole = hashId(id) & mask;
    while (cells[2 * hole] !== slot) hole = (hole + 1) & mask;
    for (let i = (hole + 1) & mask; cells[2 * i] !== EMPTY; i = (i + 1) & mask) {
      const home = cells[2 * i + 1]! & mask;
      // Move the entry back into the hole unless its home lies cyclically in (hole, i].
      if (i > hole ? home <= hole || home > i : home <= hole && home > i) {
        cells[2 * hole] = cells[2 * i]!;
        cells[2 * hole + 1] = cells[2 * i + 1]!;
        hole = i;
      }
    }
    cells[2 * hole] = EMPTY;
    this.count--;
  }

  private place(slot: number, hash: number): void {
    const cells = this.cells;
    const mask = (cells.length >>> 1) - 1;
    let i = hash & mask;
    while (cells[2 * i] !== EMPTY) i = (i + 1) & mask;
    cells[2 * i] = slot;
    cells[2 * i + 1] = hash;
  }

  private grow(): void {
    const old = this.cells;
    this.cells = new Int32Array(old.length * 2).fill(EMPTY);
    for (let i = 0; i < old.length; i += 2) if (old[i] !== EMPTY) this.place(old[i]!, old[i + 1]!);
  }
}

/** FNV-1a over UTF-16 code units, finished with a multiplicative mix so that low bits spread; non-negative. */
function hashId(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 1;
}
