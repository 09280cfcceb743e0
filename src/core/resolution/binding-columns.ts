import { grown } from './grown.ts';
import { IdTable } from './id-table.ts';
import { TextColumn } from './text-column.ts';

const NONE = -1;

/**
 * The bindings of an index stored by column, one slot per binding, and found by id: a
 * million bindings are a handful of typed arrays, not millions of objects for the
 * collector to trace. Slots of removed bindings are reused.
 */
export class BindingColumns {
  readonly id: TextColumn;
  readonly sessionId: TextColumn;
  readonly byId: IdTable;
  start: Float64Array;
  /** Infinity while the binding is open, so that `at < end` needs no special case. */
  end: Float64Array;
  /** Order of addition: among bindings started in the same millisecond, the later added wins. */
  seq: Float64Array;
  /**
   * The latest `end` of this binding and every binding before it in its list: a backward
   * scan for a binding still open at `at` stops as soon as this falls to `at` or below.
   */
  reach: Float64Array;
  /** The list (address and port block) that holds the slot; links free slots once released. */
  list: Int32Array;
  private used = 0;
  private free = NONE;

  constructor(capacity = 1024) {
    const size = Math.max(16, capacity);
    this.start = new Float64Array(size);
    this.end = new Float64Array(size);
    this.seq = new Float64Array(size);
    this.reach = new Float64Array(size);
    this.list = new Int32Array(size);
    this.id = new TextColumn(size);
    this.sessionId = new TextColumn(size);
    this.byId = new IdTable(this.id, size);
  }

  allocate(): number {
    const reused = this.free;
    if (reused !== NONE) {
      this.free = this.list[reused]!;
      return reused;
    }
    if (this.used === this.start.length) this.grow();
    return this.used++;
  }

  release(slot: number): void {
    this.byId.delete(slot);
    this.id.clear(slot);
    this.sessionId.clear(slot);
    this.list[slot] = this.free;
    this.free = slot;
  }

  private grow(): void {
    const size = this.start.length * 2;
    this.start = grown(this.start, size);
    this.end = grown(this.end, size);
    this.seq = grown(this.seq, size);
    this.reach = grown(this.reach, size);
    this.list = grown(this.list, size);
    this.id.resize(size);
    this.sessionId.resize(size);
    this.byId.resize(size);
  }
}
