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
 * One session's destinations. `referenced`: touched since the eviction clock last passed
 * it (see DestinationBook.record).
 */
class SessionDestinations extends Map<string, TrackedEntry> {
  referenced = false;
}
/**
 * `stored`: the lastSeen the store was last given for this entry, null before the first
 * write; `storedFlows`: how many of its flows the store was given; `home`: the map it
 * lives in, null once dropped from the book; `dirty`: in the list of entries changed
 * since the last drain.
 */
type TrackedEntry = DestinationEntry & { sessionId: string; stored: number | null; storedFlows: number; home: SessionDestinations | null; dirty: boolean };

/**
 * An entry as drain hands it to the store: its state then, and `newFlows`, the flows
 * counted since it was last drained. The store adds those to its row rather than
 * overwriting the row with `flows`: one (session, destination) can be counted by several
 * exporters, by an entry evicted and then made again, and by another gateway, and the
 * store's row is the sum of them all.
 */
export type DrainedEntry = DestinationEntry & { sessionId: string; newFlows: number };

export class DestinationBook {
  /** exporter → session (Map order: the eviction clock's, oldest first) → destination → entry. */
  private byExporter = new Map<string, Map<string, SessionDestinations>>();
  /** The exporter last recorded for, and its sessions: a datagram's records share one. */
  private lastExporter: string | undefined;
  private lastSessions: Map<string, SessionDestinations> | undefined;
  /**
   * Entries changed since the last drain, for the store: the entries themselves, no copies,
   * each once (its `dirty` flag), in the order they first changed. A flag on the entry the
   * record has just written costs nothing; a Set of them cost a hash probe a record.
   */
  private dirty: TrackedEntry[] = [];
  evictions = 0;

  constructor(private readonly limits: DestinationLimits) {}

  record(exporter: string, sessionId: string, destination: string, at: number, flows = 1): void {
    let sessions = exporter === this.lastExporter ? this.lastSessions : this.byExporter.get(exporter);
    if (!sessions) {
      sessions = new Map();
      this.byExporter.set(exporter, sessions);
    }
    this.lastExporter = exporter;
    this.lastSessions = sessions;
    let dests = sessions.get(sessionId);
    if (dests) dests.referenced = true;
    else {
      if (sessions.size >= this.limits.sessionsPerExporter) this.evictSession(sessions);
      dests = new SessionDestinations();
      sessions.set(sessionId, dests);
    }
    let entry = dests.get(destination);
    if (entry) {
      // Updated in place: nothing reads a session's destinations in Map order (eviction
      // looks for the oldest lastSeen, readers sort), and moving it cost a rehash now and then.
      entry.firstSeen = Math.min(entry.firstSeen, at);
      entry.lastSeen = Math.max(entry.lastSeen, at);
      entry.flows += flows;
    } else {
      entry = { destination, firstSeen: at, lastSeen: at, flows, sessionId, stored: null, storedFlows: 0, home: dests, dirty: false };
      if (dests.size >= this.limits.perSession) {
        // Drop the entry seen longest ago, not merely the first inserted.
        let oldest: TrackedEntry | undefined;
        for (const e of dests.values()) if (!oldest || e.lastSeen < oldest.lastSeen) oldest = e;
        dests.delete(oldest!.destination);
        oldest!.home = null;
        this.evictions++;
      }
      dests.set(destination, entry);
    }
    if (!entry.dirty) {
      entry.dirty = true;
      this.dirty.push(entry);
    }
  }

  /**
   * Makes room for a session: the second-chance (CLOCK) approximation of least recently
   * used. Moving a session to the end of the Map on every flow (delete, then set) was
   * most of the cost of recording one; instead a flow marks its session referenced, and
   * eviction passes referenced sessions over once, clearing the mark and moving them
   * behind the others. So a session that sent anything since the clock last passed it
   * outlives every one that did not.
   */
  private evictSession(sessions: Map<string, SessionDestinations>): void {
    for (const [sessionId, dests] of sessions) {
      sessions.delete(sessionId);
      if (dests.referenced) {
        dests.referenced = false;
        sessions.set(sessionId, dests);
        continue;
      }
      for (const e of dests.values()) e.home = null;
      this.evictions++;
      return;
    }
  }

  /** Destinations of a session across exporters, newest first, within the age limit. */
  of(sessionId: string, now = Date.now()): DestinationEntry[] {
    const merged = new Map<string, DestinationEntry>();
    for (const sessions of this.byExporter.values()) {
      const dests = sessions.get(sessionId);
      if (!dests) continue;
      for (const e of dests.values()) {
        if (now - e.lastSeen > this.limits.maxAgeMs) continue;
        const m = merged.get(e.destination);
        if (!m) merged.set(e.destination, { destination: e.destination, firstSeen: e.firstSeen, lastSeen: e.lastSeen, flows: e.flows });
        else {
          m.firstSeen = Math.min(m.firstSeen, e.firstSeen);
          m.lastSeen = Math.max(m.lastSeen, e.lastSeen);
          m.flows += e.flows;
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
   * contact at most `refreshMs` late for destinations other than the newest.
   */
  drain(refreshMs = 0): DrainedEntry[] {
    const out: DrainedEntry[] = [];
    const take = (e: TrackedEntry) => {
      out.push({ sessionId: e.sessionId, destination: e.destination, firstSeen: e.firstSeen, lastSeen: e.lastSeen, flows: e.flows, newFlows: e.flows - e.storedFlows });
      e.dirty = false;
      e.stored = e.lastSeen;
      e.storedFlows = e.flows;
    };
    const newestTaken = new Set<SessionDestinations>();
    const changed = this.dirty;
    for (const e of changed) {
      // Taken already as its session's newest.
      if (!e.dirty) continue;
      if (e.stored === null || e.lastSeen - e.stored >= refreshMs) {
        take(e);
        continue;
      }
      const dests = e.home;
      if (!dests) {
        // Evicted from the book: its last state goes to the store now or never.
        take(e);
        continue;
      }
      if (newestTaken.has(dests)) continue;
      newestTaken.add(dests);
      let newest: TrackedEntry | undefined;
      for (const d of dests.values()) if (!newest || d.lastSeen > newest.lastSeen) newest = d;
      if (newest && newest.stored !== newest.lastSeen) take(newest);
    }
    this.dirty = changed.filter((e) => e.dirty);
    return out;
  }

  /** Drops what is past the age limit. */
  expire(now = Date.now()): void {
    for (const sessions of this.byExporter.values()) {
      for (const [sessionId, dests] of sessions) {
        for (const [d, e] of dests) {
          if (now - e.lastSeen <= this.limits.maxAgeMs) continue;
          dests.delete(d);
          e.home = null;
        }
        if (dests.size === 0) sessions.delete(sessionId);
      }
    }
  }

  get size(): { exporters: number; sessions: number; destinations: number } {
    let sessions = 0;
    let destinations = 0;
    for (const s of this.byExporter.values()) {
      sessions += s.size;
      for (const d of s.values()) destinations += d.size;
    }
    return { exporters: this.byExporter.size, sessions, destinations };
  }
}
