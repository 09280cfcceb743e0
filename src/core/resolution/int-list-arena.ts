import { SidebandError } from '../../errors/sideband-error.ts';
import { grown } from './grown.ts';

const NONE = -1;
// 1 << 30 is the largest block an int32 offset can address.
const MAX_CLASS = 30;

/**
 * Many short growable lists of int32 in one Int32Array, so that half a million address
 * histories cost a few bytes each rather than a JS array (and a GC-traced object) each.
 * A list holds `1 << sizeClass` ints in one contiguous block and moves to a block twice
 * the size when full; freed blocks are reused per size class.
 *
 * Readers index `data[offset[list] + i]` directly: the hot path of a lookup is a binary
 * search over that block, and a method call per probe would cost more than the probe.
 */
export class IntListArena {
  data = new Int32Array(4096);
  offset = new Int32Array(256);
  length = new Int32Array(256);
  private sizeClass = new Uint8Array(256);
  private top = 0;
  private lists = 0;
  private freeList = NONE;
  private readonly freeBlocks = new Int32Array(MAX_CLASS + 1).fill(NONE);

  /** Creates an empty list and returns its handle (handles of released lists are reused). */
  create(): number {
    let list = this.freeList;
    if (list !== NONE) {
      this.freeList = this.offset[list]!;
    } else {
      list = this.lists++;
      if (list === this.offset.length) this.growHeaders();
    }
    this.offset[list] = this.allocate(0);
    this.length[list] = 0;
    this.sizeClass[list] = 0;
    return list;
  }

  release(list: number): void {
    this.freeBlock(this.offset[list]!, this.sizeClass[list]!);
    this.length[list] = 0;
    this.offset[list] = this.freeList;
    this.freeList = list;
  }

  insert(list: number, at: number, value: number): void {
    const length = this.length[list]!;
    if (length === 1 << this.sizeClass[list]!) this.enlarge(list);
    const start = this.offset[list]!;
    if (at < length) this.data.copyWithin(start + at + 1, start + at, start + length);
    this.data[start + at] = value;
    this.length[list] = length + 1;
  }

  removeAt(list: number, at: number): void {
    const start = this.offset[list]!;
    const length = this.length[list]!;
    this.data.copyWithin(start + at, start + at + 1, start + length);
    this.length[list] = length - 1;
  }

  private enlarge(list: number): void {
    const cls = this.sizeClass[list]!;
    const from = this.offset[list]!;
    const to = this.allocate(cls + 1);
    this.data.copyWithin(to, from, from + (1 << cls));
    this.freeBlock(from, cls);
    this.offset[list] = to;
    this.sizeClass[list] = cls + 1;
  }

  private allocate(cls: number): number {
    if (cls > MAX_CLASS) throw new SidebandError('INTERNAL', 'A binding history outgrew 2^30 entries.');
    const reused = this.freeBlocks[cls]!;
    if (reused !== NONE) {
      this.freeBlocks[cls] = this.data[reused]!;
      return reused;
    }
    const size = 1 << cls;
    if (this.top + size > this.data.length) {
      let capacity = this.data.length * 2;
      while (this.top + size > capacity) capacity *= 2;
      const data = new Int32Array(capacity);
      data.set(this.data.subarray(0, this.top));
      this.data = data;
    }
    const block = this.top;
    this.top += size;
    return block;
  }

  private freeBlock(block: number, cls: number): void {
    this.data[block] = this.freeBlocks[cls]!;
    this.freeBlocks[cls] = block;
  }

  private growHeaders(): void {
    const size = this.offset.length * 2;
    this.offset = grown(this.offset, size);
    this.length = grown(this.length, size);
    this.sizeClass = grown(this.sizeClass, size);
  }
}
