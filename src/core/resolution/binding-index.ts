import { SidebandError } from '../../errors/sideband-error.ts';
import { formatAddressKey, maskIpv6Key, parseAddressKey, type AddressKey } from './address-key.ts';
import { PORT_MAX, PORT_MIN, type Binding } from './binding.ts';
import { BindingRecords } from './binding-records.ts';
import { PortBlockLists } from './port-block-lists.ts';

const NONE = -1;
/** What `recentWinner` answers when the winner, if any, lies further back than the cell's two bindings. */
const FURTHER_BACK = -2;
/** Cells of `versionOf`: an address shares its cell's version with the others hashed there, which only costs them a lookup. */
const CHANGE_BITS = 16;
const CHANGE_CELLS = 1 << CHANGE_BITS;
const changeCell = (address: number): number => Math.imul(address, 0x9e3779b1) >>> (32 - CHANGE_BITS);

/**
 * Answers "who held address A (and source port P) at time T" over every binding, open and
 * past. Each address keeps one list of bindings per port block (one list for a
 * whole-address binding), sorted by start; a lookup binary-searches the lists that cover
 * the port. Bindings are stored as records in typed arrays, so a million of them are a
 * few hundred buffers and no object per binding.
 *
 * Start is inclusive and end exclusive. Should two bindings cover the same address and
 * port at once (the allocator prevents it), the one started last wins, and of two started
 * in the same millisecond the one added last.
 *
 * An IPv6 prefix binding answers for every address inside the prefix. A lookup tries the
 * address itself, then each prefix length held, longest first (longest-prefix match): one
 * hash probe per length, and an access network holds few lengths (a /64 and a /56).
 *
 * Without a port, a lookup answers only when one binding answers for every port: the
 * winner at that time holds the whole address. On a shared (carrier-grade NAT) address
 * it answers `undefined` and {@link BindingIndex.isPortBlocked} says a port is needed.
 *
 * @example
 * const index = new BindingIndex();
 * index.add({ id: 'bnd_1', sessionId: 'ses_1', address: '198.18.0.7', portFirst: 1024, portLast: 2047, start: 1000, end: null });
 * index.resolve('198.18.0.7', 1500, 1500)?.sessionId; // 'ses_1'
 * index.resolve('198.18.0.7', 1500);                   // undefined
 * index.isPortBlocked('198.18.0.7', 1500);             // true
 * index.add({ id: 'bnd_2', sessionId: 'ses_2', address: '2001:db8:0:100::', prefixLength: 56, start: 1000, end: null });
 * index.resolve('2001:db8:0:1ab::9', 1500)?.sessionId;  // 'ses_2'
 */
export class BindingIndex {
  private readonly rows: BindingRecords;
  /** Each list holds binding slots in order of (start, seq). */
  private readonly blocks: PortBlockLists;
  private added = 0;
  /** Counts every add, close and remove: the stamps of `versionOf`. */
  private changes = 0;
  /** `changes` when a binding of an IPv4 address hashed to the cell last changed; see `versionOf`. */
  private readonly changedAt = new Float64Array(CHANGE_CELLS);
  /** The list of the binding `winner` or `wholeWinner` last returned, which saves reading it back. */
  private foundList = NONE;

  /** `capacity` presizes the records for that many bindings; they grow past it as needed. */
  constructor(options: { capacity?: number } = {}) {
    const rows = new BindingRecords(options.capacity);
    this.rows = rows;
    this.blocks = new PortBlockLists((slot) => rows.start(slot));
  }

  get size(): number {
    return this.rows.byId.size;
  }

  /**
   * A version of the bindings of one IPv4 address (its 32-bit value): moves whenever one
   * of them is added, closed or removed (a binding moved is removed and added), and
   * otherwise only when those of another address sharing its cell do. Who held an address
   * depends on its own bindings alone, so an answer cached with this stands while it has
   * not moved, however busy RADIUS is with the other addresses.
   */
  versionOf(address: number): number {
    return this.changedAt[changeCell(address)]!;
  }

  /** Counts a change to the bindings of `key`. */
  private changed(key: AddressKey): void {
    this.changes++;
    if (typeof key === 'number') this.changedAt[changeCell(key)] = this.changes;
  }

  /** Adds an open (`end: null`) or closed binding. Throws ADDRESS_INVALID, or INTERNAL on a reused id or an impossible span. */
  add(b: Binding): void {
    const key = parseAddressKey(b.address);
    if (key === undefined) {
      throw new SidebandError('ADDRESS_INVALID', `Binding ${b.id}: ${JSON.stringify(b.address)} is not an IPv4 or IPv6 address.`, { param: 'address' });
    }
    const [first, last] = portBlock(b);
    const prefixLength = prefixOf(b, key);
    if (!Number.isFinite(b.start)) throw fault(b.id, `start ${b.start} is not a time`);
    if (b.end !== null) checkEnd(b.id, b.start, b.end);
    if (this.rows.byId.find(b.id) !== NONE) throw fault(b.id, 'the id is already in the index');

    this.changed(key);
    const list = this.blocks.listFor(key, first, last, prefixLength);
    const slot = this.rows.add(b.id, b.sessionId, list, b.start, b.end ?? Infinity, this.added++);
    // After every binding that started no later: this one was added last.
    const at = this.startedBy(list, b.start);
    this.blocks.insert(list, at, slot);
    this.refreshReach(list, at);
  }

  /** Ends an open binding; false when the id is unknown or the binding already ended. */
  close(id: string, end: number): boolean {
    const slot = this.rows.byId.find(id);
    if (slot === NONE || this.rows.end(slot) !== Infinity) return false;
    checkEnd(id, this.rows.start(slot), end);
    this.changed(this.blocks.keyOf(this.rows.list(slot)));
    this.rows.setEnd(slot, end);
    this.refreshReach(this.rows.list(slot), this.positionOf(slot));
    return true;
  }

  /** Forgets a binding entirely, as when the write that added it is rolled back. */
  remove(id: string): boolean {
    const slot = this.rows.byId.find(id);
    if (slot === NONE) return false;
    const list = this.rows.list(slot);
    this.changed(this.blocks.keyOf(list));
    const at = this.positionOf(slot);
    if (!this.blocks.removeAt(list, at)) this.refreshReach(list, at);
    this.rows.release(slot);
    return true;
  }

  get(id: string): Binding | undefined {
    const slot = this.rows.byId.find(id);
    return slot === NONE ? undefined : this.materialise(slot, this.rows.list(slot));
  }

  /**
   * The binding that held `address` (and `port`, if given) at `at`; `undefined` when none
   * did, when the address or port is malformed, or when no port is given and the address
   * was shared by port blocks at that time.
   */
  resolve(address: string, at: number, port?: number): Binding | undefined {
    const key = parseAddressKey(address);
    if (key === undefined || Number.isNaN(at)) return undefined;
    const wanted = portWanted(port);
    if (wanted === undefined) return undefined;
    const head = this.blocks.first(key);
    // An address whose only list holds it whole answers every port alike, usually from
    // the latest two bindings its table cell keeps.
    const latest = this.blocks.soleLatest();
    let slot = latest === NONE ? FURTHER_BACK : this.recentWinner(latest, at);
    const fromCell = slot !== FURTHER_BACK;
    if (!fromCell) slot = wanted === NONE ? this.wholeWinner(head, at) : this.winner(head, at, wanted);
    if (slot === NONE) return typeof key === 'string' ? this.prefixWinner(key, at, wanted) : undefined;
    // Strict dotted decimal is already canonical: the question's text is the answer's.
    const text = typeof key === 'number' && address.indexOf(':') < 0 ? address : formatAddressKey(key);
    // From the cell, the list is known to hold the whole address: its header need not be read.
    return fromCell ? this.wholeAddressBinding(slot, text) : this.materialise(slot, this.foundList, text);
  }

  /**
   * `resolve` of an IPv4 address (its 32-bit value) at `at`, with how long the answer
   * stands, for a caller that caches it by `versionOf`:
   * - the session id of the binding that held the address at `at`, `span` set to the
   *   times [span[0], span[1]) at which `resolve` answers that binding for any port or none;
   * - null when no binding ever held any part of the address: `resolve` answers nothing at
   *   any time, and `isPortBlocked` false;
   * - undefined when the answer is not one of these two (a shared address, a longer
   *   history, nobody at `at`): ask `resolve`.
   */
  stableHolder(address: number, at: number, span: Float64Array): string | null | undefined {
    if (this.blocks.first(address) === NONE) return null;
    const latest = this.blocks.soleLatest();
    if (latest === NONE) return undefined;
    const slot = this.recentWinner(latest, at);
    if (slot < 0) return undefined;
    const rows = this.rows;
    span[0] = rows.start(slot);
    // The previous binding answers until the latest began; the latest, until it ends.
    span[1] = slot === latest ? rows.end(slot) : Math.min(rows.end(slot), rows.start(latest));
    return rows.ids(slot)[1];
  }

  /**
   * Longest-prefix match: the binding of the longest prefix held at `at` that contains
   * `key`. Lengths are probed shortest first, and no further than a network with no
   * longer prefix inside (PortBlockLists.prefixLengths).
   */
  private prefixWinner(key: string, at: number, wanted: number): Binding | undefined {
    const blocks = this.blocks;
    let best = NONE;
    let bestList = NONE;
    for (const length of blocks.prefixLengths) {
      const head = blocks.firstOfPrefix(key, length);
      const longer = blocks.longerInside();
      if (head !== NONE) {
        const slot = wanted === NONE ? this.wholeWinner(head, at) : this.winner(head, at, wanted);
        if (slot !== NONE) {
          best = slot;
          bestList = this.foundList;
        }
      }
      if (!longer) break;
    }
    return best === NONE ? undefined : this.materialise(best, bestList);
  }

  /** Whether a lookup of `address` at `at` needs a source port: what held it then held only a port block. */
  isPortBlocked(address: string, at: number): boolean {
    const key = parseAddressKey(address);
    if (key === undefined || Number.isNaN(at)) return false;
    const head = this.blocks.first(key);
    const whole = this.blocks.wholeList(head);
    return this.blockHeldAfter(head, at, whole === NONE ? NONE : this.activeIn(whole, at));
  }

  /**
   * The open binding that holds `port` of `address` now or, without a port, any open
   * binding on any part of the address: an allocator checks this before handing it out.
   * Of several, the one started last.
   */
  openAt(address: string, port?: number): Binding | undefined {
    const key = parseAddressKey(address);
    if (key === undefined) return undefined;
    const wanted = portWanted(port);
    if (wanted === undefined) return undefined;
    const blocks = this.blocks;
    let best = NONE;
    let bestList = NONE;
    for (let list = blocks.first(key); list !== NONE; list = blocks.next(list)) {
      if (wanted !== NONE) {
        if (blocks.portFirst(list) > wanted) break;
        if (blocks.portLast(list) < wanted) continue;
      }
      const slot = this.openIn(list);
      if (slot !== NONE && (best === NONE || this.startedLater(slot, best))) {
        best = slot;
        bestList = list;
      }
    }
    return best === NONE ? undefined : this.materialise(best, bestList);
  }

  /**
   * `activeIn` on an address's only list, over the last two bindings its table cell
   * keeps (`latest`, then `blocks.solePrevious()`): the winner, NONE, or FURTHER_BACK when
   * the scan would go on past them.
   */
  private recentWinner(latest: number, at: number): number {
    const rows = this.rows;
    const previous = this.blocks.solePrevious();
    let slot = latest;
    if (rows.start(latest) > at) {
      if (previous === NONE) return NONE;
      if (rows.start(previous) > at) return FURTHER_BACK;
      slot = previous;
    }
    if (rows.reach(slot) <= at) return NONE;
    if (rows.end(slot) > at) return slot;
    if (slot === previous) return FURTHER_BACK;
    if (previous === NONE || rows.reach(previous) <= at) return NONE;
    return rows.end(previous) > at ? previous : FURTHER_BACK;
  }

  /** Of the lists of one address covering `port`, the binding that won at `at`. */
  private winner(head: number, at: number, port: number): number {
    const blocks = this.blocks;
    const directory = blocks.directoryOf(head);
    if (directory !== NONE) return this.winnerByDirectory(head, directory, at, port);
    let best = NONE;
    for (let list = blocks.nextHolding(head, port); list !== NONE; list = blocks.nextHolding(blocks.next(list), port)) {
      best = this.better(list, at, best);
    }
    return best;
  }

  /**
   * `winner` on a long chain: back from the last block starting at or below `port` while
   * an earlier one can still reach it. The whole-address list, which reaches every port,
   * is asked apart, so that it does not make the walk go all the way back.
   */
  private winnerByDirectory(head: number, directory: number, at: number, port: number): number {
    const blocks = this.blocks;
    const whole = blocks.wholeList(head);
    let best = whole === NONE ? NONE : this.better(whole, at, NONE);
    for (let i = blocks.startingBy(directory, port) - 1; i >= 0; i--) {
      const list = blocks.listIn(directory, i);
      if (blocks.lastReach(list) < port) break;
      if (blocks.portLast(list) >= port && list !== whole) best = this.better(list, at, best);
    }
    return best;
  }

  /** `best`, or the binding of `list` that held at `at` if it started later (then `foundList` is `list`). */
  private better(list: number, at: number, best: number): number {
    const slot = this.activeIn(list, at);
    if (slot === NONE || (best !== NONE && !this.startedLater(slot, best))) return best;
    this.foundList = list;
    return slot;
  }

  /**
   * The binding that won every port at `at`: the holder of the whole address, unless a
   * port block was bound after it. A shared address has no whole-address list, so the
   * common miss costs one walk down the chain's first entries.
   */
  private wholeWinner(head: number, at: number): number {
    const whole = this.blocks.wholeList(head);
    if (whole === NONE) return NONE;
    const held = this.activeIn(whole, at);
    this.foundList = whole;
    return held === NONE || this.blockHeldAfter(head, at, held) ? NONE : held;
  }

  /** Whether some port block of the address was held at `at` by a binding started after `than` (NONE: any binding). */
  private blockHeldAfter(head: number, at: number, than: number): boolean {
    const blocks = this.blocks;
    for (let list = head; list !== NONE; list = blocks.next(list)) {
      if (blocks.holdsWholeAddress(list)) continue;
      const slot = this.activeIn(list, at);
      if (slot !== NONE && (than === NONE || this.startedLater(slot, than))) return true;
    }
    return false;
  }

  /** The last-started binding of `list` that held at `at`. */
  private activeIn(list: number, at: number): number {
    const rows = this.rows;
    const { arena } = this.blocks;
    for (let i = this.startedBy(list, at) - 1; i >= 0; i--) {
      const slot = arena.at(list, i);
      if (rows.reach(slot) <= at) return NONE;
      if (rows.end(slot) > at) return slot;
    }
    return NONE;
  }

  /** How many bindings of `list` started at or before `t`. */
  private startedBy(list: number, t: number): number {
    return this.blocks.arena.countUpTo(list, t);
  }

  private openIn(list: number): number {
    const rows = this.rows;
    const { arena } = this.blocks;
    for (let i = arena.lengthOf(list) - 1; i >= 0; i--) {
      const slot = arena.at(list, i);
      if (rows.reach(slot) !== Infinity) return NONE;
      if (rows.end(slot) === Infinity) return slot;
    }
    return NONE;
  }

  private startedLater(a: number, b: number): boolean {
    const rows = this.rows;
    return rows.start(a) > rows.start(b) || (rows.start(a) === rows.start(b) && rows.seq(a) > rows.seq(b));
  }

  /** Where `slot` sits in its list, found by its (start, seq) order. */
  private positionOf(slot: number): number {
    const { arena } = this.blocks;
    const list = this.rows.list(slot);
    let lo = 0;
    let hi = arena.lengthOf(list) - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.startedLater(slot, arena.at(list, mid))) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private refreshReach(list: number, from: number): void {
    const rows = this.rows;
    const { arena } = this.blocks;
    let latest = from > 0 ? rows.reach(arena.at(list, from - 1)) : -Infinity;
    for (let i = from; i < arena.lengthOf(list); i++) {
      const slot = arena.at(list, i);
      if (rows.end(slot) > latest) latest = rows.end(slot);
      rows.setReach(slot, latest);
    }
  }

  /** The binding in `slot` of `list`, as a plain object; `address` is its canonical text if known. */
  private materialise(slot: number, list: number, address = formatAddressKey(this.blocks.keyOf(list))): Binding {
    const rows = this.rows;
    const blocks = this.blocks;
    const prefixLength = blocks.prefixLengthOf(list);
    if (prefixLength === 0 && blocks.holdsWholeAddress(list)) return this.wholeAddressBinding(slot, address);
    const end = rows.end(slot);
    const [id, sessionId] = rows.ids(slot);
    if (prefixLength > 0) {
      return { id, sessionId, address, prefixLength, start: rows.start(slot), end: end === Infinity ? null : end };
    }
    return {
      id,
      sessionId,
      address,
      portFirst: blocks.portFirst(list),
      portLast: blocks.portLast(list),
      start: rows.start(slot),
      end: end === Infinity ? null : end,
    };
  }

  /** The binding in `slot`, which holds `address` whole, as a plain object. */
  private wholeAddressBinding(slot: number, address: string): Binding {
    const rows = this.rows;
    const [id, sessionId] = rows.ids(slot);
    const end = rows.end(slot);
    return { id, sessionId, address, start: rows.start(slot), end: end === Infinity ? null : end };
  }
}

/** A binding's ports, the whole range when it names none; both or neither must be given. */
function portBlock(b: Binding): [number, number] {
  if (b.portFirst === undefined && b.portLast === undefined) return [PORT_MIN, PORT_MAX];
  const first = b.portFirst;
  const last = b.portLast;
  if (!isPort(first) || !isPort(last) || first > last) {
    throw fault(b.id, `ports ${String(first)}..${String(last)} are not a block within ${PORT_MIN}..${PORT_MAX}`);
  }
  return [first, last];
}

/**
 * A binding's prefix length, 0 for a single address (a /128 is one). Only an IPv6
 * network with no host bits set, holding every port, is a prefix.
 */
function prefixOf(b: Binding, key: AddressKey): number {
  const length = b.prefixLength;
  if (length === undefined || length === 128) return 0;
  if (typeof key !== 'string' || !Number.isInteger(length) || length < 1 || length > 127) throw fault(b.id, `prefix length ${length} is not one of an IPv6 prefix (1..128)`);
  if (b.portFirst !== undefined) throw fault(b.id, 'a prefix holds every port');
  if (maskIpv6Key(key, length) !== key) throw fault(b.id, `${b.address}/${length} has host bits set`);
  return length;
}

/** NONE for "every port", undefined for a value that is no port. */
function portWanted(port: number | undefined): number | undefined {
  if (port === undefined) return NONE;
  return isPort(port) ? port : undefined;
}

function isPort(port: number | undefined): port is number {
  return port !== undefined && Number.isInteger(port) && port >= PORT_MIN && port <= PORT_MAX;
}

function checkEnd(id: string, start: number, end: number): void {
  if (!Number.isFinite(end) || end < start) throw fault(id, `end ${end} is not a time at or after the start ${start}`);
}

// Each of these is a caller breaking the allocator's contract, not a request to refuse.
function fault(id: string, detail: string): SidebandError {
  return new SidebandError('INTERNAL', `Binding ${id}: ${detail}.`);
}
