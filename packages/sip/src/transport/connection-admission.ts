import type { SourceLimits } from './source-limits.ts';

/**
 * Where a TCP connection stands: `opened` (nothing valid yet), `requested` (a request that
 * parses came), `authenticated` (a line proved its password on it), `outbound` (we opened it).
 */
export type ConnectionStanding = 'opened' | 'requested' | 'authenticated' | 'outbound';

export type Admission =
  | { readonly admitted: true; /** A connection to close first to make room, if any. */ readonly evict: number | null }
  | { readonly admitted: false; readonly cause: 'connection-source-limit' | 'connection-limit' };

interface Entry {
  readonly address: string;
  standing: ConnectionStanding;
}

/**
 * Which TCP connections may open and which must make room, by source address and standing.
 * Connections that have not authenticated a line share maxConnections - reservedConnections,
 * and each address at most maxConnectionsPerSource of them; when that share (or the whole
 * table) is full, a new connection evicts the oldest unauthenticated connection of the
 * address holding the most. So one address, or many, can fill only the unauthenticated
 * share, a registered line's connection is never evicted, and a new client always gets in
 * at the expense of whoever holds the most.
 */
export class ConnectionAdmission {
  readonly #entries = new Map<number, Entry>();
  /** Unauthenticated connections by address, oldest first. */
  readonly #unauthenticated = new Map<string, Set<number>>();
  #unauthenticatedCount = 0;

  constructor(private readonly limits: SourceLimits) {}

  get open(): number {
    return this.#entries.size;
  }

  get unauthenticated(): number {
    return this.#unauthenticatedCount;
  }

  /** Decides on a connection just accepted (or, `outbound`, just opened by us) and records it when admitted. */
  admit(id: number, address: string, outbound: boolean): Admission {
    const { maxConnections, maxConnectionsPerSource, reservedConnections } = this.limits;
    if (!outbound && (this.#unauthenticated.get(address)?.size ?? 0) >= maxConnectionsPerSource) return { admitted: false, cause: 'connection-source-limit' };
    const full = this.#entries.size >= maxConnections || (!outbound && this.#unauthenticatedCount >= maxConnections - reservedConnections);
    const evict = full ? this.#victim() : null;
    // Our own connections go to registered contacts: refusing them would fail calls, and
    // their number is bounded by the bindings, so they may pass a full table.
    if (full && evict === null && !outbound) return { admitted: false, cause: 'connection-limit' };
    this.#entries.set(id, { address, standing: outbound ? 'outbound' : 'opened' });
    if (!outbound) {
      let ids = this.#unauthenticated.get(address);
      if (ids === undefined) this.#unauthenticated.set(address, (ids = new Set()));
      ids.add(id);
      this.#unauthenticatedCount++;
    }
    return { admitted: true, evict };
  }

  standing(id: number): ConnectionStanding | undefined {
    return this.#entries.get(id)?.standing;
  }

  /** A request that parses arrived; true when it was the connection's first. */
  requested(id: number): boolean {
    const entry = this.#entries.get(id);
    if (entry?.standing !== 'opened') return false;
    entry.standing = 'requested';
    return true;
  }

  /** A line authenticated on the connection: it leaves the unauthenticated share for good. */
  authenticated(id: number): boolean {
    const entry = this.#entries.get(id);
    if (entry === undefined || entry.standing === 'authenticated' || entry.standing === 'outbound') return false;
    this.#leaveShare(id, entry);
    entry.standing = 'authenticated';
    return true;
  }

  closed(id: number): void {
    const entry = this.#entries.get(id);
    if (entry === undefined) return;
    this.#leaveShare(id, entry);
    this.#entries.delete(id);
  }

  #leaveShare(id: number, entry: Entry): void {
    const ids = this.#unauthenticated.get(entry.address);
    if (!ids?.delete(id)) return;
    this.#unauthenticatedCount--;
    if (ids.size === 0) this.#unauthenticated.delete(entry.address);
  }

  /** The oldest unauthenticated connection of the address that holds the most; null when there is none. */
  #victim(): number | null {
    let largest: Set<number> | undefined;
    for (const ids of this.#unauthenticated.values()) if (largest === undefined || ids.size > largest.size) largest = ids;
    return largest === undefined ? null : largest.values().next().value!;
  }
}
