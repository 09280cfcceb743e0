/** Slots per page: 16,384, so that a page of records is a megabyte or so. */
export const PAGE_BITS = 14;
export const PAGE_MASK = (1 << PAGE_BITS) - 1;

/**
 * Storage indexed by slot, grown a page at a time. Doubling one buffer would copy all of
 * it at every power of two and leave the old buffers as holes in the process's memory
 * (the copies measured ~50 MB of resident memory at a million bindings); pages are never
 * copied or freed. The page of slot s is `pages[s >>> PAGE_BITS]`.
 */
export class SlotPages<T> {
  readonly pages: T[] = [];

  constructor(private readonly newPage: () => T) {}

  /** Slots this storage holds now. */
  get capacity(): number {
    return this.pages.length << PAGE_BITS;
  }

  /** Adds pages until slots below `slots` fit. */
  reserve(slots: number): void {
    while (this.capacity < slots) this.pages.push(this.newPage());
  }
}
