import type { AddressKey } from './address-key.ts';
import { AddressTable } from './address-table.ts';
import { PORT_MAX, PORT_MIN } from './binding.ts';
import { grown } from './grown.ts';
import { IntListArena } from './int-list-arena.ts';

const NONE = -1;

/**
 * For each address, one list per port block that was ever bound on it (a whole-address
 * binding is the block 0–65535), chained in order of first port, then last port, so that
 * a search for one port stops at the first block that starts above it. What a list holds
 * and in which order is the caller's: the lists are the `arena`'s.
 */
export class PortBlockLists {
  readonly arena = new IntListArena();
  portFirst = new Uint16Array(256);
  portLast = new Uint16Array(256);
  /** The address's next list, or -1. */
  next = new Int32Array(256);
  private readonly heads = new AddressTable();
  /** A list's IPv4 address or, if `isV6`, where its key is in `v6Keys`. */
  private address = new Int32Array(256);
  private isV6 = new Uint8Array(256);
  private readonly v6Keys: string[] = [];
  private readonly v6Free: number[] = [];

  /** The address's first list, or -1. */
  first(key: AddressKey): number {
    return this.heads.get(key);
  }

  /** The list of `key` for ports first..last, created if the address has none. */
  listFor(key: AddressKey, first: number, last: number): number {
    let previous = NONE;
    let list = this.heads.get(key);
    while (list !== NONE && (this.portFirst[list]! < first || (this.portFirst[list] === first && this.portLast[list]! < last))) {
      previous = list;
      list = this.next[list]!;
    }
    if (list !== NONE && this.portFirst[list] === first && this.portLast[list] === last) return list;
    const created = this.arena.create();
    if (created >= this.next.length) this.grow();
    this.portFirst[created] = first;
    this.portLast[created] = last;
    this.next[created] = list;
    if (typeof key === 'string') {
      const at = this.v6Free.pop() ?? this.v6Keys.length;
      this.v6Keys[at] = key;
      this.address[created] = at;
      this.isV6[created] = 1;
    } else {
      this.address[created] = key | 0;
      this.isV6[created] = 0;
    }
    if (previous === NONE) this.heads.set(key, created);
    else this.next[previous] = created;
    return created;
  }

  /** Unchains an emptied list and frees it; the address itself stays known. */
  drop(list: number): void {
    const key = this.keyOf(list);
    let previous = NONE;
    for (let at = this.heads.get(key); at !== list; at = this.next[at]!) previous = at;
    if (previous === NONE) this.heads.set(key, this.next[list]!);
    else this.next[previous] = this.next[list]!;
    if (this.isV6[list] === 1) {
      this.v6Keys[this.address[list]!] = '';
      this.v6Free.push(this.address[list]!);
    }
    this.arena.release(list);
  }

  /** Of the lists chained from `head`, the one for the whole address, or -1. */
  wholeList(head: number): number {
    // It is the last of those that start at port 0, which come first.
    for (let list = head; list !== NONE && this.portFirst[list] === PORT_MIN; list = this.next[list]!) {
      if (this.portLast[list] === PORT_MAX) return list;
    }
    return NONE;
  }

  keyOf(list: number): AddressKey {
    return this.isV6[list] === 1 ? this.v6Keys[this.address[list]!]! : this.address[list]! >>> 0;
  }

  holdsWholeAddress(list: number): boolean {
    return this.portFirst[list] === PORT_MIN && this.portLast[list] === PORT_MAX;
  }

  private grow(): void {
    const size = this.next.length * 2;
    this.portFirst = grown(this.portFirst, size);
    this.portLast = grown(this.portLast, size);
    this.next = grown(this.next, size);
    this.address = grown(this.address, size);
    this.isV6 = grown(this.isV6, size);
  }
}
