import type { AddressKey } from './address-key.ts';
import { AddressTable } from './address-table.ts';
import { PORT_MAX, PORT_MIN } from './binding.ts';
import { SortedListArena } from './sorted-list-arena.ts';

const NONE = -1;
// The words this class keeps in each list's header, after the arena's.
const FIRST = 0;
const LAST = 1;
const NEXT = 2;
/** The IPv4 address or, for an IPv6 list, where its key is in `v6Keys` (then IS_V6 is 1). */
const ADDRESS = 3;
const IS_V6 = 4;
/** The length of the IPv6 prefix the list's key is the network of; 0 for a single address. */
const PREFIX = 5;
/** On an address's first list, its directory in `directories`, or -1. */
const DIRECTORY = 6;
/** The greatest last port of the port blocks (not whole addresses) chained up to this list; -1 if none. */
const LAST_REACH = 7;
const WORDS = 8;
/** Chains at least this long get a directory. */
const DIRECTORY_FROM = 4;
// The words `heads` keeps in each address's cell beside its first list.
const LATEST = 0;
const PREVIOUS = 1;
// The word a prefix table keeps in each network's cell: 1 when a longer prefix held (or
// once held) lies inside that network, else -1. See `prefixLengths`.
const LONGER_INSIDE = 0;

/**
 * For each address, one list per port block that was ever bound on it (a whole-address
 * binding is the block 0–65535), chained in order of first port, then last port, so that
 * a search for one port stops at the first block that starts above it. What a list holds
 * is the caller's, kept in order of `keyOf`: the lists are the `arena`'s.
 *
 * A shared (carrier-grade NAT) address chains a few dozen blocks, and a walk down the
 * chain to the one holding a port measured two thirds of a lookup. An address with a
 * longer chain also has a directory, its lists in chain order in `directories`, so that
 * a lookup bisects to the last block starting at or below the port and walks back only
 * while an earlier block can still reach it (`LAST_REACH`, as `reach` does for times).
 */
export class PortBlockLists {
  readonly arena: SortedListArena;
  /** Per address with a long chain, its lists in chain order, keyed by (first port, last port). */
  private readonly directories: SortedListArena;
  /**
   * Per address, its first list; and, while that list is its only one and holds the whole
   * address, that list's last value and the one before (-1 where it holds fewer), so that
   * a lookup in the recent history of an address with no port blocks, the common one, is
   * answered from the table cell and those bindings' records without reading the list.
   */
  private readonly heads = new AddressTable(2);
  /** Heads of the lists of IPv6 prefixes, one table per prefix length. */
  private readonly prefixHeads = new Map<number, AddressTable>();
  /**
   * The prefix lengths held, shortest first: a longest-prefix match probes them in this
   * order and stops at the first network with no longer prefix inside (`longerInside`).
   * Each network of a length that some longer prefix lies in has a cell marked so (added
   * for the purpose when that network itself holds nothing), so a lookup inside a /56
   * of a network with a /56 and /64s elsewhere makes one probe, not a miss in the /64s'
   * table first (a cache miss each: that lookup ran at two thirds of a /64's). A mark is
   * never taken back, as table cells never are: one left by a prefix since removed costs
   * a probe, never a wrong answer.
   */
  readonly prefixLengths: number[] = [];
  /** The prefix table `firstOfPrefix` last looked in. */
  private askedPrefix: AddressTable | undefined;
  private readonly v6Keys: string[] = [];
  private readonly v6Free: number[] = [];

  /** `keyOf` gives the order of what the lists hold. */
  constructor(keyOf: (value: number) => number) {
    this.arena = new SortedListArena(WORDS, keyOf);
    this.directories = new SortedListArena(0, (list) => this.word(list, FIRST) * 65536 + this.word(list, LAST));
  }

  /** The directory of the address whose first list is `head`, or -1 when its chain is short. */
  directoryOf(head: number): number {
    return head === NONE ? NONE : this.word(head, DIRECTORY);
  }

  /** How many lists of `directory` start at or below `port`. */
  startingBy(directory: number, port: number): number {
    return this.directories.countUpTo(directory, port * 65536 + PORT_MAX);
  }

  /** The `index`th list of `directory`, in chain order. */
  listIn(directory: number, index: number): number {
    return this.directories.at(directory, index);
  }

  /** The greatest last port of the port blocks chained up to `list`, whole addresses aside; -1 if none. */
  lastReach(list: number): number {
    return this.word(list, LAST_REACH);
  }

  /** The address's (or, with `prefixLength`, the IPv6 prefix's) first list, or -1. */
  first(key: AddressKey, prefixLength = 0): number {
    return this.headsOf(prefixLength)?.get(key) ?? NONE;
  }

  /**
   * After `first(key)` of an address (no prefix length): the last value of its only list
   * if that list holds the whole address, else -1; read from the cell `first` found.
   */
  soleLatest(): number {
    return this.heads.extraOfFound(LATEST);
  }

  /** After `soleLatest`: the value before it in that list, or -1 when it is the list's only one. */
  solePrevious(): number {
    return this.heads.extraOfFound(PREVIOUS);
  }

  /** Inserts `value` at `index` of `list` (the arena's insert), keeping the address's cell up to date. */
  insert(list: number, index: number, value: number): void {
    this.arena.insert(list, index, value);
    if (this.word(list, PREFIX) === 0) this.keepLatestInCell(this.keyOf(list));
  }

  /** Removes the value at `index` of `list`, unchaining and freeing the list once empty (then true). */
  removeAt(list: number, index: number): boolean {
    this.arena.removeAt(list, index);
    const emptied = this.arena.lengthOf(list) === 0;
    const key = this.keyOf(list);
    const single = this.word(list, PREFIX) === 0;
    if (emptied) this.drop(list);
    if (single) this.keepLatestInCell(key);
    return emptied;
  }

  /** The first list of the `prefixLength`-bit IPv6 prefix that `key` lies in, or -1. */
  firstOfPrefix(key: string, prefixLength: number): number {
    const table = (this.askedPrefix = this.prefixHeads.get(prefixLength));
    return table?.getPrefix(key, prefixLength) ?? NONE;
  }

  /** After `firstOfPrefix`: whether a longer prefix held may lie inside the network it looked up. */
  longerInside(): boolean {
    return this.askedPrefix?.extraOfFound(LONGER_INSIDE) === 1;
  }

  /** The length of the prefix whose network `keyOf(list)` is; 0 for a single address. */
  prefixLengthOf(list: number): number {
    return this.word(list, PREFIX);
  }

  private headsOf(prefixLength: number, create = false): AddressTable | undefined {
    if (prefixLength === 0) return this.heads;
    let table = this.prefixHeads.get(prefixLength);
    if (!table && create) {
      table = new AddressTable(1, true);
      // A new length shorter than some held: mark its networks that those prefixes lie in.
      for (const [longer, held] of this.prefixHeads) if (longer > prefixLength) held.forEachV6((key) => table!.setPrefixExtra(key, prefixLength, LONGER_INSIDE, 1));
      this.prefixHeads.set(prefixLength, table);
      this.prefixLengths.push(prefixLength);
      this.prefixLengths.sort((a, b) => a - b);
    }
    return table;
  }

  /** A list for the prefix `key`/`prefixLength` was made: marks the networks of each shorter length it lies in. */
  private markInside(key: string, prefixLength: number): void {
    for (const length of this.prefixLengths) {
      if (length >= prefixLength) break;
      this.prefixHeads.get(length)!.setPrefixExtra(key, length, LONGER_INSIDE, 1);
    }
  }

  /**
   * The first list from `list` on along its chain (`list` itself included) whose block
   * holds `port`, or -1. One tight loop over the headers: the chain of a shared address is
   * a few dozen blocks long, and a step through `next`, `portFirst` and `portLast`
   * cost twice as much.
   */
  nextHolding(list: number, port: number): number {
    const { header, stride, ownerWord } = this.arena;
    for (let at = list; at !== NONE; ) {
      const h = at * stride + ownerWord;
      // Lists are chained by first port, so none further on holds this one.
      if (header[h + FIRST]! > port) return NONE;
      if (header[h + LAST]! >= port) return at;
      at = header[h + NEXT]!;
    }
    return NONE;
  }

  /** The address's next list after `list`, or -1. */
  next(list: number): number {
    return this.word(list, NEXT);
  }

  portFirst(list: number): number {
    return this.word(list, FIRST);
  }

  portLast(list: number): number {
    return this.word(list, LAST);
  }

  holdsWholeAddress(list: number): boolean {
    return this.word(list, FIRST) === PORT_MIN && this.word(list, LAST) === PORT_MAX;
  }

  /** Of the lists chained from `head`, the one for the whole address, or -1. */
  wholeList(head: number): number {
    // It is the last of those that start at port 0, which come first.
    for (let list = head; list !== NONE && this.word(list, FIRST) === PORT_MIN; list = this.word(list, NEXT)) {
      if (this.word(list, LAST) === PORT_MAX) return list;
    }
    return NONE;
  }

  keyOf(list: number): AddressKey {
    const address = this.word(list, ADDRESS);
    return this.word(list, IS_V6) === 1 ? this.v6Keys[address]! : address >>> 0;
  }

  /** The list of `key` (a prefix's network when `prefixLength` > 0) for ports first..last, created if it has none. */
  listFor(key: AddressKey, first: number, last: number, prefixLength = 0): number {
    const heads = this.headsOf(prefixLength, true)!;
    let previous = NONE;
    let list = heads.get(key);
    while (list !== NONE && (this.word(list, FIRST) < first || (this.word(list, FIRST) === first && this.word(list, LAST) < last))) {
      previous = list;
      list = this.word(list, NEXT);
    }
    if (list !== NONE && this.word(list, FIRST) === first && this.word(list, LAST) === last) return list;
    const head = heads.get(key);
    const directory = this.directoryOf(head);
    const created = this.arena.create();
    this.setWord(created, FIRST, first);
    this.setWord(created, LAST, last);
    this.setWord(created, NEXT, list);
    this.setWord(created, PREFIX, prefixLength);
    if (typeof key === 'string') {
      const at = this.v6Free.pop() ?? this.v6Keys.length;
      this.v6Keys[at] = key;
      this.setWord(created, ADDRESS, at);
      this.setWord(created, IS_V6, 1);
    } else {
      this.setWord(created, ADDRESS, key | 0);
    }
    if (previous === NONE) heads.set(key, created);
    else this.setWord(previous, NEXT, created);
    this.reindex(previous === NONE ? created : head, directory);
    if (prefixLength > 0) this.markInside(key as string, prefixLength);
    return created;
  }

  /** After a change to the lists of address `key`: sets its cell's copy of its latest two values (see `heads`). */
  private keepLatestInCell(key: AddressKey): void {
    const head = this.heads.get(key);
    let latest = NONE;
    let previous = NONE;
    if (head !== NONE && this.word(head, NEXT) === NONE && this.holdsWholeAddress(head)) {
      const length = this.arena.lengthOf(head);
      latest = this.arena.at(head, length - 1);
      if (length > 1) previous = this.arena.at(head, length - 2);
    }
    this.heads.setExtraOfFound(LATEST, latest);
    this.heads.setExtraOfFound(PREVIOUS, previous);
  }

  /** Unchains an emptied list and frees it; the address itself stays known. */
  private drop(list: number): void {
    const key = this.keyOf(list);
    const heads = this.headsOf(this.word(list, PREFIX))!;
    const head = heads.get(key);
    const directory = this.directoryOf(head);
    let previous = NONE;
    for (let at = head; at !== list; at = this.word(at, NEXT)) previous = at;
    if (previous === NONE) heads.set(key, this.word(list, NEXT));
    else this.setWord(previous, NEXT, this.word(list, NEXT));
    this.reindex(previous === NONE ? this.word(list, NEXT) : head, directory);
    if (this.word(list, IS_V6) === 1) {
      this.v6Keys[this.word(list, ADDRESS)] = '';
      this.v6Free.push(this.word(list, ADDRESS));
    }
    this.arena.release(list);
  }

  /**
   * After a list joined or left the chain from `head`: refreshes each list's LAST_REACH
   * and rebuilds the address's directory (`directory`, its old one), or frees it once the
   * chain is short. Linear in the chain, as finding the list's place in it already is.
   */
  private reindex(head: number, directory: number): void {
    let length = 0;
    let reach = NONE;
    for (let list = head; list !== NONE; list = this.word(list, NEXT)) {
      length++;
      if (!this.holdsWholeAddress(list)) reach = Math.max(reach, this.word(list, LAST));
      this.setWord(list, LAST_REACH, reach);
      this.setWord(list, DIRECTORY, NONE);
    }
    const directories = this.directories;
    if (directory !== NONE) directories.clear(directory);
    if (length < DIRECTORY_FROM) {
      if (directory !== NONE) directories.release(directory);
      return;
    }
    if (directory === NONE) directory = directories.create();
    let index = 0;
    for (let list = head; list !== NONE; list = this.word(list, NEXT)) directories.insert(directory, index++, list);
    this.setWord(head, DIRECTORY, directory);
  }

  private word(list: number, word: number): number {
    const arena = this.arena;
    return arena.header[list * arena.stride + arena.ownerWord + word]!;
  }

  private setWord(list: number, word: number, value: number): void {
    const arena = this.arena;
    arena.header[list * arena.stride + arena.ownerWord + word] = value;
  }
}
