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
const WORDS = 6;

/**
 * For each address, one list per port block that was ever bound on it (a whole-address
 * binding is the block 0–65535), chained in order of first port, then last port, so that
 * a search for one port stops at the first block that starts above it. What a list holds
 * is the caller's, kept in order of `keyOf`: the lists are the `arena`'s.
 */
export class PortBlockLists {
  readonly arena: SortedListArena;
  private readonly heads = new AddressTable();
  /** Heads of the lists of IPv6 prefixes, one table per prefix length. */
  private readonly prefixHeads = new Map<number, AddressTable>();
  /** The prefix lengths held, longest first: the order of a longest-prefix match. */
  readonly prefixLengths: number[] = [];
  private readonly v6Keys: string[] = [];
  private readonly v6Free: number[] = [];

  /** `keyOf` gives the order of what the lists hold. */
  constructor(keyOf: (value: number) => number) {
    this.arena = new SortedListArena(WORDS, keyOf);
  }

  /** The address's (or, with `prefixLength`, the IPv6 prefix's) first list, or -1. */
  first(key: AddressKey, prefixLength = 0): number {
    return this.headsOf(prefixLength)?.get(key) ?? NONE;
  }

  /** The first list of the `prefixLength`-bit IPv6 prefix that `key` lies in, or -1. */
  firstOfPrefix(key: string, prefixLength: number): number {
    return this.prefixHeads.get(prefixLength)?.getPrefix(key, prefixLength) ?? NONE;
  }

  /** The length of the prefix whose network `keyOf(list)` is; 0 for a single address. */
  prefixLengthOf(list: number): number {
    return this.word(list, PREFIX);
  }

  private headsOf(prefixLength: number, create = false): AddressTable | undefined {
    if (prefixLength === 0) return this.heads;
    let table = this.prefixHeads.get(prefixLength);
    if (!table && create) {
      table = new AddressTable();
      this.prefixHeads.set(prefixLength, table);
      this.prefixLengths.push(prefixLength);
      this.prefixLengths.sort((a, b) => b - a);
    }
    return table;
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
    return created;
  }

  /** Unchains an emptied list and frees it; the address itself stays known. */
  drop(list: number): void {
    const key = this.keyOf(list);
    const heads = this.headsOf(this.word(list, PREFIX))!;
    let previous = NONE;
    for (let at = heads.get(key); at !== list; at = this.word(at, NEXT)) previous = at;
    if (previous === NONE) heads.set(key, this.word(list, NEXT));
    else this.setWord(previous, NEXT, this.word(list, NEXT));
    if (this.word(list, IS_V6) === 1) {
      this.v6Keys[this.word(list, ADDRESS)] = '';
      this.v6Free.push(this.word(list, ADDRESS));
    }
    this.arena.release(list);
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
