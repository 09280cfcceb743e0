/**
 * The reference model of a session's accounting history (docs/radius.md, "Accounting"):
 * a few lines per rule, no store, no lookup, no index — what the accounting service must
 * agree with whatever order, loss, duplication and dating the NAS's packets come in.
 * Times are epoch milliseconds, session times seconds.
 */

export type PacketKind = 'start' | 'interim' | 'stop';

export interface ModelPacket {
  kind: PacketKind;
  /** When it happened on the NAS. */
  at: number;
  /** Acct-Session-Time; null in a Start. */
  sessionTime: number | null;
  inputOctets: number | null;
  terminateCause: string | null;
}

export type ModelStatus = 'none' | 'authorized' | 'active' | 'closed';

export interface ModelSession {
  status: ModelStatus;
  closedBy: 'stop' | 'sweeper' | null;
  authorizedAt: number | null;
  startedAt: number | null;
  endedAt: number | null;
  lastSeen: number;
  sessionTime: number;
  inputOctets: number;
  charged: number;
  sessionTimeout: number | null;
  terminateCause: string | null;
  bindingStart: number | null;
  bindingEnd: number | null;
}

export const unseen = (sessionTimeout: number | null): ModelSession => ({
  status: 'none', closedBy: null, authorizedAt: null, startedAt: null, endedAt: null, lastSeen: 0, sessionTime: 0, inputOctets: 0, charged: 0, sessionTimeout,
  terminateCause: null, bindingStart: null, bindingEnd: null,
});

export function authorized(m: ModelSession, at: number): void {
  Object.assign(m, { status: 'authorized', authorizedAt: at, lastSeen: at, bindingStart: at });
}

/** Applies a packet accepted at `receivedAt`; returns the anomaly it is and the seconds it charges. */
export function deliver(m: ModelSession, p: ModelPacket, receivedAt: number): { anomaly: string | null; charge: number } {
  const st = p.sessionTime ?? 0;
  if (m.status === 'none') {
    // Nobody authorized it: it is recorded from the start it reports.
    const start = p.kind === 'start' ? p.at : p.at - st * 1000;
    Object.assign(m, { startedAt: start, bindingStart: start, sessionTime: st, inputOctets: p.inputOctets ?? 0, lastSeen: receivedAt });
    if (p.kind === 'stop') {
      Object.assign(m, { status: 'closed', closedBy: 'stop', endedAt: p.at, bindingEnd: p.at, charged: st, terminateCause: p.terminateCause });
      return { anomaly: 'stop-without-start', charge: st };
    }
    m.status = 'active';
    return { anomaly: p.kind === 'interim' ? 'interim-without-start' : null, charge: 0 };
  }
  if (m.status === 'closed') {
    if (p.kind === 'start') return { anomaly: 'late-start', charge: 0 };
    if (p.kind === 'interim') return { anomaly: 'late-interim', charge: 0 };
    if (m.closedBy === 'stop') return { anomaly: 'duplicate-stop', charge: 0 };
    // The sweeper guessed; the Stop knows. Never longer than what was recorded.
    m.sessionTime = Math.max(m.sessionTime, st);
    m.inputOctets = Math.max(m.inputOctets, p.inputOctets ?? 0);
    const charge = Math.max(0, m.sessionTime - m.charged);
    m.charged += charge;
    m.startedAt ??= p.at - st * 1000;
    m.endedAt = Math.max(m.startedAt, Math.min(m.endedAt!, p.at));
    if (m.bindingStart !== null) m.bindingEnd = Math.max(m.bindingStart, Math.min(m.bindingEnd!, p.at));
    m.closedBy = 'stop';
    m.terminateCause = p.terminateCause;
    return { anomaly: 'late-stop', charge };
  }
  const wasActive = m.status === 'active';
  m.sessionTime = Math.max(m.sessionTime, st);
  m.inputOctets = Math.max(m.inputOctets, p.inputOctets ?? 0);
  m.lastSeen = Math.max(m.lastSeen, receivedAt);
  if (p.kind === 'start') {
    Object.assign(m, { status: 'active', startedAt: p.at });
    return { anomaly: wasActive ? 'duplicate-start' : null, charge: 0 };
  }
  m.startedAt ??= p.at - st * 1000;
  if (p.kind === 'interim') {
    m.status = 'active';
    return { anomaly: wasActive ? null : 'interim-without-start', charge: 0 };
  }
  const charge = Math.max(0, m.sessionTime - m.charged);
  Object.assign(m, { status: 'closed', closedBy: 'stop', endedAt: Math.max(p.at, m.startedAt!), charged: m.charged + charge, terminateCause: p.terminateCause });
  if (m.bindingStart !== null) m.bindingEnd = Math.max(m.bindingStart, p.at);
  return { anomaly: wasActive ? null : 'stop-without-start', charge };
}

/** The sweeper at `now`: charges what was reported, up to the Session-Timeout, and says so. */
export function sweep(m: ModelSession, now: number, staleMs: number): number {
  if ((m.status !== 'authorized' && m.status !== 'active') || m.lastSeen >= now - staleMs) return 0;
  const capped = m.sessionTimeout !== null && m.sessionTimeout < m.sessionTime;
  const total = Math.max(m.charged, capped ? m.sessionTimeout! : m.sessionTime);
  const charge = total - m.charged;
  const cause = total === 0 ? 'Sideband-Stale (charged 0 s: no session time reported)' : capped ? `Sideband-Stale (charged ${total} s: the Session-Timeout)` : `Sideband-Stale (charged ${total} s: the last reported session time)`;
  Object.assign(m, { status: 'closed', closedBy: 'sweeper', endedAt: Math.max(now, m.startedAt ?? m.authorizedAt ?? now), charged: total, terminateCause: cause });
  if (m.bindingStart !== null) m.bindingEnd = Math.max(m.bindingStart, now);
  return charge;
}

/** Prepaid seconds after a charge: never below zero; unlimited stays unlimited. */
export const afterCharge = (remaining: number | null, charge: number): number | null => (remaining === null ? null : Math.max(0, remaining - charge));

/** Whether the session's binding covered `at` (start inclusive, end exclusive). */
export const heldAt = (m: ModelSession, at: number): boolean => m.bindingStart !== null && at >= m.bindingStart && (m.bindingEnd === null || at < m.bindingEnd);
