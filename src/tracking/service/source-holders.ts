import type { BindingIndex } from '../../core/resolution/binding-index.ts';

// A direct-mapped table: an address shares its cell with the others of its hash, and the
// last one asked for keeps it. A bound on memory, and no probing on the per-record path.
const CELL_BITS = 14;
const CELLS = 1 << CELL_BITS;

/**
 * Who holds each IPv4 source address, as the binding index last answered, for the
 * collector's records: resolving a source cost ~0.4 µs a record (the lookup, then a
 * Binding with its ids decoded from bytes), and one exporter's records come from the same
 * few thousand addresses over and over. An answer is kept with the index's version of the
 * address (`versionOf`) and the times it holds for, and is asked again once a binding of
 * the address was added, closed or moved, or a record's time falls outside them: a binding
 * that changes is never attributed stale. Changes to other addresses leave it standing,
 * so a busy RADIUS server does not empty the table.
 */
export class SourceHolders {
  private readonly addresses = new Float64Array(CELLS).fill(-1);
  private readonly versions = new Float64Array(CELLS);
  private readonly from = new Float64Array(CELLS);
  private readonly until = new Float64Array(CELLS);
  private readonly sessions: (string | null)[] = new Array<string | null>(CELLS).fill(null);
  /** What the caller keeps with a cell's session (see `note`), -1 for nothing. */
  private readonly notes = new Int32Array(CELLS).fill(-1);
  /** The cell `holder` last answered from. */
  private cell = 0;
  private readonly span = new Float64Array(2);

  constructor(private readonly index: BindingIndex) {}

  /**
   * The session whose binding held `address` (its 32-bit value) at `at`, for any source
   * port; null when no binding ever held the address; undefined when the index cannot say
   * cheaply (a shared address, a long history, nobody at `at`), for the caller to resolve.
   * Equal session ids come back as the same string while their cell keeps them, so that
   * maps keyed by them match by identity.
   */
  holder(address: number, at: number): string | null | undefined {
    const cell = Math.imul(address, 0x9e3779b1) >>> (32 - CELL_BITS);
    this.cell = cell;
    const version = this.index.versionOf(address);
    if (this.addresses[cell] === address && this.versions[cell] === version && at >= this.from[cell]! && at < this.until[cell]!) return this.sessions[cell]!;
    const found = this.index.stableHolder(address, at, this.span);
    if (found === undefined) return undefined;
    const known = this.addresses[cell] === address ? this.sessions[cell] : null;
    const session = found !== null && found === known ? known : found;
    if (session !== known) this.notes[cell] = -1;
    this.addresses[cell] = address;
    this.versions[cell] = version;
    this.from[cell] = session === null ? -Infinity : this.span[0]!;
    this.until[cell] = session === null ? Infinity : this.span[1]!;
    this.sessions[cell] = session;
    return session;
  }

  /**
   * A number the caller keeps with the session `holder` last gave (the destination book's
   * number for it, which saves a Map lookup a record), -1 until set and after the cell's
   * session changed. Only a hint: the book checks it is still that session's.
   */
  get note(): number {
    return this.notes[this.cell]!;
  }

  set note(value: number) {
    this.notes[this.cell] = value;
  }
}
