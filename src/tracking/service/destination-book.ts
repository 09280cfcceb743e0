import { formatAddressKey } from '../../core/resolution/address-key.ts';
import { ipv4Number } from './canonical-texts.ts';

/**
 * The destinations each session contacted, newest first: the seed's table 200, where the
 * last one is the "referential address". In memory and bounded three ways: destinations
 * per session (oldest dropped), age, and sessions per exporter, each exporter with its
 * own quota so that a flood from one cannot evict what the others reported.
 */
export interface DestinationEntry {
  destination: string;
  firstSeen: number;
  lastSeen: number;
  flows: number;
}

export interface DestinationLimits {
  perSession: number;
  maxAgeMs: number;
  sessionsPerExporter: number;
}

/**
 * An entry as drain hands it to the store: its state then, and `newFlows`, the flows
 * counted since it was last drained. The store adds those to its row rather than
 * overwriting the row with `flows`: one (session, destination) can be counted by several
 * exporters, by an entry evicted and then made again, and by another gateway, and the
 * store's row is the sum of them all.
 */
export type DrainedEntry = DestinationEntry & { sessionId: string; newFlows: number };

// An entry is a slot of eight doubles in one table, so that recording a flow touches one
// or two cache lines rather than a Map per session, a Map per destination and an object.
// A slot is addressed by its first double's index. `STORED`: the lastSeen the store was
// last given, NaN before the first write; `STORED_FLOWS`: how many of the flows it was
// given; `DIRTY_AT`: where the entry is in the list of entries changed since the last
// drain, -1 when it is not changed.
const SESSION = 0;
const DESTINATION = 1;
const FIRST_SEEN = 2;
const LAST_SEEN = 3;
const FLOWS = 4;
const STORED_FLOWS = 5;
const STORED = 6;
const DIRTY_AT = 7;
const STRIDE = 8;
/** SESSION of a slot never used, and of one whose entry was removed (probing goes on past it). */
const EMPTY = -1;
const REMOVED = -2;
const MIN_SLOTS_LOG2 = 10;
/**
 * An IPv4 destination is keyed by its 32-bit value; any other text by a number from here
 * up, given out while some entry has it, so that one comparison of doubles finds either.
 */
const TEXT_KEYS = 2 ** 32;

export class DestinationBook {
  /** exporter → session id → session number; Map order is the eviction clock's, oldest first. */
  private byExporter = new Map<string, Map<string, number>>();
  /** The exporter last recorded for, and its sessions: a datagram's records share one. */
  private lastExporter: string | undefined;
  private lastSessions: Map<string, number> | undefined;

  // Sessions by number (a session is one exporter's: the same id under two exporters is
  // two); the id and exporter of a number not given out are undefined.
  private sessionIds: (string | undefined)[] = [];
  private exporterOf: (string | undefined)[] = [];
  /** Touched since the eviction clock last passed it (see evictSession): 1 or 0. */
  private referenced: number[] = [];
  /** Each session's slots in the order its destinations came: ties on lastSeen go to the first. */
  private slotsOf: number[][] = [];
  private freeSessions: number[] = [];

  /** Open addressing, linear probing, at most half full counting removed slots. */
  private table = new Float64Array(STRIDE << MIN_SLOTS_LOG2).fill(EMPTY);
  private shift = 32 - MIN_SLOTS_LOG2;
  private live = 0;
  private removedSlots = 0;

  /** Destinations other than IPv4 (see TEXT_KEYS), each counted by the entries that have it. */
  private textKeys = new Map<string, number>();
  private texts: string[] = [];
  private textUses: number[] = [];
  private freeTexts: number[] = [];

  /**
   * Entries changed since the last drain, in the order they first changed: a slot, or for
   * an entry dropped from the book since, `-1 - i` for its last state in `dropped[i]`,
   * which goes to the store with the next drain.
   */
  private dirty: number[] = [];
  private dropped: DrainedEntry[] = [];
  evictions = 0;

  constructor(private readonly limits: DestinationLimits) {}

  record(exporter: string, sessionId: string, destination: string, at: number, flows = 1): void {
    const session = this.sessionOf(exporter, sessionId);
    // ipv4Number takes only the dotted quad formatAddressKey writes: the key gives the same text back.
    const v4 = ipv4Number(destination);
    this.count(session, v4 >= 0 ? v4 : this.textKey(destination), at, flows);
  }

  /**
   * `record` for an IPv4 destination given as its 32-bit value: the collector's, which never
   * makes its text. Returns the number the book gave the session, for the caller to hand
   * back as `hint` with the session's next record: a number still given to this exporter's
   * session spares the Map of sessions (a third of recording), any other is ignored.
   */
  recordV4(exporter: string, sessionId: string, destination: number, at: number, flows = 1, hint = -1): number {
    let session = hint;
    if (hint >= 0 && this.sessionIds[hint] === sessionId && this.exporterOf[hint] === exporter) this.referenced[hint] = 1;
    else session = this.sessionOf(exporter, sessionId);
    this.count(session, destination, at, flows);
    return session;
  }

  private sessionOf(exporter: string, sessionId: string): number {
    let sessions = exporter === this.lastExporter ? this.lastSessions : this.byExporter.get(exporter);
    if (!sessions) {
      sessions = new Map();
      this.byExporter.set(exporter, sessions);
    }
    this.lastExporter = exporter;
    this.lastSessions = sessions;
    let session = sessions.get(sessionId);
    if (session !== undefined) {
      this.referenced[session] = 1;
      return session;
    }
    if (sessions.size >= this.limits.sessionsPerExporter) this.evictSession(sessions);
    session = this.freeSessions.pop() ?? this.sessionIds.length;
    this.sessionIds[session] = sessionId;
    this.exporterOf[session] = exporter;
    this.referenced[session] = 0;
    this.slotsOf[session] = [];
    sessions.set(sessionId, session);
    return session;
  }

  private count(session: number, destination: number, at: number, flows: number): void {
    let slot = this.find(session, destination);
    if (slot >= 0) {
      const t = this.table;
      if (at < t[slot + FIRST_SEEN]!) t[slot + FIRST_SEEN] = at;
      if (at > t[slot + LAST_SEEN]!) t[slot + LAST_SEEN] = at;
      t[slot + FLOWS]! += flows;
    } else {
      if (this.slotsOf[session]!.length >= this.limits.perSession) this.dropOldest(session);
      slot = this.insert(session, destination, at, flows);
      this.slotsOf[session]!.push(slot);
    }
    const t = this.table;
    if (t[slot + DIRTY_AT]! < 0) {
      t[slot + DIRTY_AT] = this.dirty.length;
      this.dirty.push(slot);
    }
  }

  /** The slot of (session, destination), -1 when there is none. */
  private find(session: number, destination: number): number {
    const t = this.table;
    const mask = t.length - 1;
    for (let slot = home(session, destination, this.shift) * STRIDE; ; slot = (slot + STRIDE) & mask) {
      const s = t[slot + SESSION]!;
      if (s === session && t[slot + DESTINATION] === destination) return slot;
      if (s === EMPTY) return -1;
    }
  }

  /** A new entry, in the first free slot from its home: the caller knows there is none for the key. */
  private insert(session: number, destination: number, at: number, flows: number): number {
    if ((this.live + this.removedSlots + 1) * STRIDE * 2 > this.table.length) this.resize();
    const t = this.table;
    const mask = t.length - 1;
    let slot = home(session, destination, this.shift) * STRIDE;
    while (t[slot + SESSION]! >= 0) slot = (slot + STRIDE) & mask;
    if (t[slot + SESSION] === REMOVED) this.removedSlots--;
    t[slot + SESSION] = session;
    t[slot + DESTINATION] = destination;
    t[slot + FIRST_SEEN] = at;
    t[slot + LAST_SEEN] = at;
    t[slot + FLOWS] = flows;
    t[slot + STORED_FLOWS] = 0;
    t[slot + STORED] = NaN;
    t[slot + DIRTY_AT] = -1;
    this.live++;
    if (destination >= TEXT_KEYS) this.textUses[destination - TEXT_KEYS]!++;
    return slot;
  }

  /**
   * A table for the live entries at most a third full (none removed), grown or shrunk:
   * every slot moves, so each session's list and the changed list are given the new ones.
   */
  private resize(): void {
    let log2 = MIN_SLOTS_LOG2;
    while (1 << log2 < (this.live + 1) * 3) log2++;
    const old = this.table;
    const t = new Float64Array(STRIDE << log2).fill(EMPTY);
    const mask = t.length - 1;
    this.table = t;
    this.shift = 32 - log2;
    this.removedSlots = 0;
    for (const slots of this.slotsOf) {
      for (let k = 0; k < slots.length; k++) {
        const from = slots[k]!;
        let slot = home(old[from + SESSION]!, old[from + DESTINATION]!, this.shift) * STRIDE;
        while (t[slot + SESSION] !== EMPTY) slot = (slot + STRIDE) & mask;
        t.set(old.subarray(from, from + STRIDE), slot);
        slots[k] = slot;
        const dirtyAt = old[from + DIRTY_AT]!;
        if (dirtyAt >= 0) this.dirty[dirtyAt] = slot;
      }
    }
  }

  /** Takes an entry out of the table; while changed, its last state stays for the next drain. */
  private remove(slot: number): void {
    const t = this.table;
    const dirtyAt = t[slot + DIRTY_AT]!;
    if (dirtyAt >= 0) this.dirty[dirtyAt] = -1 - (this.dropped.push(this.row(slot)) - 1);
    const destination = t[slot + DESTINATION]!;
    if (destination >= TEXT_KEYS) this.releaseText(destination);
    t[slot + SESSION] = REMOVED;
    this.live--;
    this.removedSlots++;
  }

  /** Drops the session's entry seen longest ago, not merely the first inserted. */
  private dropOldest(session: number): void {
    const t = this.table;
    const slots = this.slotsOf[session]!;
    let oldest = 0;
    for (let k = 1; k < slots.length; k++) if (t[slots[k]! + LAST_SEEN]! < t[slots[oldest]! + LAST_SEEN]!) oldest = k;
    this.remove(slots[oldest]!);
    slots.splice(oldest, 1);
    this.evictions++;
  }

  /**
   * Makes room for a session: the second-chance (CLOCK) approximation of least recently
   * used. Moving a session to the end of the Map on every flow (delete, then set) was
   * most of the cost of recording one; instead a flow marks its session referenced, and
   * eviction passes referenced sessions over once, clearing the mark and moving them
   * behind the others. So a session that sent anything since the clock last passed it
   * outlives every one that did not.
   */
  private evictSession(sessions: Map<string, number>): void {
    for (const [sessionId, session] of sessions) {
      sessions.delete(sessionId);
      if (this.referenced[session]) {
        this.referenced[session] = 0;
        sessions.set(sessionId, session);
        continue;
      }
      for (const slot of this.slotsOf[session]!) this.remove(slot);
      this.freeSession(session);
      this.evictions++;
      return;
    }
  }

  private freeSession(session: number): void {
    this.slotsOf[session] = [];
    this.sessionIds[session] = undefined;
    this.exporterOf[session] = undefined;
    this.freeSessions.push(session);
  }

  private textKey(text: string): number {
    let key = this.textKeys.get(text);
    if (key === undefined) {
      const k = this.freeTexts.pop() ?? this.texts.length;
      this.texts[k] = text;
      this.textUses[k] = 0;
      key = TEXT_KEYS + k;
      this.textKeys.set(text, key);
    }
    return key;
  }

  private releaseText(key: number): void {
    const k = key - TEXT_KEYS;
    if (--this.textUses[k]! > 0) return;
    this.textKeys.delete(this.texts[k]!);
    this.texts[k] = '';
    this.freeTexts.push(k);
  }

  private text(key: number): string {
    return key < TEXT_KEYS ? formatAddressKey(key) : this.texts[key - TEXT_KEYS]!;
  }

  private row(slot: number): DrainedEntry {
    const t = this.table;
    const flows = t[slot + FLOWS]!;
    return { sessionId: this.sessionIds[t[slot + SESSION]!]!, destination: this.text(t[slot + DESTINATION]!), firstSeen: t[slot + FIRST_SEEN]!, lastSeen: t[slot + LAST_SEEN]!, flows, newFlows: flows - t[slot + STORED_FLOWS]! };
  }

  /** Destinations of a session across exporters, newest first, within the age limit. */
  of(sessionId: string, now = Date.now()): DestinationEntry[] {
    const t = this.table;
    const merged = new Map<number, DestinationEntry>();
    for (const sessions of this.byExporter.values()) {
      const session = sessions.get(sessionId);
      if (session === undefined) continue;
      for (const slot of this.slotsOf[session]!) {
        const lastSeen = t[slot + LAST_SEEN]!;
        if (now - lastSeen > this.limits.maxAgeMs) continue;
        const destination = t[slot + DESTINATION]!;
        const m = merged.get(destination);
        if (!m) merged.set(destination, { destination: this.text(destination), firstSeen: t[slot + FIRST_SEEN]!, lastSeen, flows: t[slot + FLOWS]! });
        else {
          m.firstSeen = Math.min(m.firstSeen, t[slot + FIRST_SEEN]!);
          m.lastSeen = Math.max(m.lastSeen, lastSeen);
          m.flows += t[slot + FLOWS]!;
        }
      }
    }
    return [...merged.values()].sort((a, b) => b.lastSeen - a.lastSeen);
  }

  /**
   * Takes the changed entries the store needs now. A flow that merely moves an entry's
   * lastSeen forward would otherwise rewrite every busy (session, destination) pair every
   * second; instead an entry is taken when it is new, when its lastSeen moved `refreshMs`
   * or more past what the store has, or when it is its session's newest (so the store's
   * newest — the referential address another gateway checks — is always exact). The rest
   * stay changed for a later call; `refreshMs = 0` takes everything (the last flush).
   * So a gateway reading the store sees every destination within a flush, and a last
   * contact at most `refreshMs` late for destinations other than the newest. An entry
   * dropped from the book since it changed is taken in any case: now or never.
   */
  drain(refreshMs = 0): DrainedEntry[] {
    const t = this.table;
    const out: DrainedEntry[] = [];
    const take = (slot: number) => {
      out.push(this.row(slot));
      t[slot + DIRTY_AT] = -1;
      t[slot + STORED] = t[slot + LAST_SEEN]!;
      t[slot + STORED_FLOWS] = t[slot + FLOWS]!;
    };
    const newestTaken = new Set<number>();
    const changed = this.dirty;
    for (let at = 0; at < changed.length; at++) {
      const slot = changed[at]!;
      if (slot < 0) {
        out.push(this.dropped[-1 - slot]!);
        continue;
      }
      // Taken already as its session's newest.
      if (t[slot + DIRTY_AT] !== at) continue;
      const stored = t[slot + STORED]!;
      if (Number.isNaN(stored) || t[slot + LAST_SEEN]! - stored >= refreshMs) {
        take(slot);
        continue;
      }
      const session = t[slot + SESSION]!;
      if (newestTaken.has(session)) continue;
      newestTaken.add(session);
      let newest = -1;
      for (const s of this.slotsOf[session]!) if (newest < 0 || t[s + LAST_SEEN]! > t[newest + LAST_SEEN]!) newest = s;
      if (newest >= 0 && t[newest + STORED] !== t[newest + LAST_SEEN]) take(newest);
    }
    this.dirty = [];
    this.dropped = [];
    for (let at = 0; at < changed.length; at++) {
      const slot = changed[at]!;
      if (slot < 0 || t[slot + DIRTY_AT] !== at) continue;
      t[slot + DIRTY_AT] = this.dirty.length;
      this.dirty.push(slot);
    }
    return out;
  }

  /** Drops what is past the age limit. */
  expire(now = Date.now()): void {
    const t = this.table;
    for (const sessions of this.byExporter.values()) {
      for (const [sessionId, session] of sessions) {
        const slots = this.slotsOf[session]!;
        let kept = 0;
        for (const slot of slots) {
          if (now - t[slot + LAST_SEEN]! <= this.limits.maxAgeMs) slots[kept++] = slot;
          else this.remove(slot);
        }
        slots.length = kept;
        if (kept > 0) continue;
        sessions.delete(sessionId);
        this.freeSession(session);
      }
    }
    // Give back what a burst of sessions took once they are gone.
    if (this.table.length > STRIDE << MIN_SLOTS_LOG2 && this.live * STRIDE * 8 < this.table.length) this.resize();
  }

  get size(): { exporters: number; sessions: number; destinations: number } {
    let sessions = 0;
    for (const s of this.byExporter.values()) sessions += s.size;
    return { exporters: this.byExporter.size, sessions, destinations: this.live };
  }
}

/** The slot number a key probes from: the top bits of a multiplicative hash. */
function home(session: number, destination: number, shift: number): number {
  // `^` takes a key's low 32 bits: a text key then shares its home with an IPv4 address, which is only a collision.
  const h = Math.imul(session, 0x9e3779b1) ^ destination;
  return Math.imul(h ^ (h >>> 15), 0x85ebca6b) >>> shift;
}
