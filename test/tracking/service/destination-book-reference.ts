// The destination book as it was at 6dee75b (its changed entries in a Set), kept as the
// model the property test holds the current book to: the same rows drained, the same
// destinations read, the same sizes. It shares the book's types, not its code.
import type { DestinationEntry, DestinationLimits } from '../../../src/tracking/service/destination-book.ts';

/**
 * One session's destinations. `referenced`: touched since the eviction clock last passed
 * it (see DestinationBook.record).
 */
class SessionDestinations extends Map<string, TrackedEntry> {
  referenced = false;
}
/**
 * `stored`: the lastSeen the store was last given for this entry, null before the first
 * write; `home`: the map it lives in, null once dropped from the book.
 */
type TrackedEntry = DestinationEntry & { sessionId: string; stored: number | null; home: SessionDestinations | null };

export class ReferenceDestinationBook {
  /** exporter → session (Map order: the eviction clock's, oldest first) → destination → entry. */
  private byExporter = new Map<string, Map<string, SessionDestinations>>();
  /** The exporter last recorded for, and its sessions: a datagram's records share one. */
  private lastExporter: string | undefined;
  private lastSessions: Map<string, SessionDestinations> | undefined;
  /** Entries changed since the last drain, for the store: the entries themselves, no copies. */
  private dirty = new Set<TrackedEntry>();
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
      entry = { destination, firstSeen: at, lastSeen: at, flows, sessionId, stored: null, home: dests };
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
    this.dirty.add(entry);
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
  drain(refreshMs = 0): TrackedEntry[] {
    const out: TrackedEntry[] = [];
    const take = (e: TrackedEntry) => {
      this.dirty.delete(e);
      e.stored = e.lastSeen;
      out.push({ ...e });
    };
    const newestTaken = new Set<SessionDestinations>();
    for (const e of this.dirty) {
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
