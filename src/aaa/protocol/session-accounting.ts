import type { SessionClosedBy } from '../../store/schema.ts';
import type { AccountingAnomalyKind } from './accounting-anomaly.ts';
import { chargeAtStop, chargeWithoutStop, staleTerminateCause } from './prepaid-charge.ts';

/** Who closed a session; only one closed by a Stop treats a later Stop as a duplicate. */
export type ClosedBy = SessionClosedBy;

/** The part of a session accounting changes. Times are epoch ms; session time is seconds. */
export interface SessionRecord {
  status: 'authorized' | 'active' | 'closed';
  closedBy: ClosedBy | null;
  authorizedAt: number | null;
  startedAt: number | null;
  endedAt: number | null;
  lastSeenAt: number;
  sessionTime: number;
  inputOctets: number;
  outputOctets: number;
  chargedSeconds: number;
  sessionTimeout: number | null;
  terminateCause: string | null;
  acctSessionId: string | null;
}

/** An Accounting-Request as the rules see it: what the NAS says, and when (on its clock). */
export interface AccountingReport {
  kind: 'start' | 'interim' | 'stop';
  /** When it happened: Event-Timestamp, else arrival minus Acct-Delay-Time. */
  at: number;
  receivedAt: number;
  acctSessionId: string | null;
  sessionTime: number | null;
  inputOctets: number | null;
  outputOctets: number | null;
  terminateCause: string | null;
}

export interface SessionChange {
  anomaly: AccountingAnomalyKind | null;
  /** The session after the report, or null when the report changes nothing. */
  next: SessionRecord | null;
  /** The binding's new end, when it changes (it only ever closes or shortens). */
  bindingEnd: number | null;
  /** Seconds of prepaid time to take now. */
  charge: number;
}

const unchanged = (anomaly: AccountingAnomalyKind | null): SessionChange => ({ anomaly, next: null, bindingEnd: null, charge: 0 });

/** Where the session began by this report's reckoning: its time less the session time it reports. */
export const reportedStart = (r: Pick<AccountingReport, 'at' | 'sessionTime'>): number => r.at - (r.sessionTime ?? 0) * 1000;

/**
 * What an Accounting-Request does to the session it is about, in every state the session
 * can be in. The rules, after RFC 2866 and FreeRADIUS's SQL accounting queries:
 *
 * - a closed session is never reopened: a Start or an Interim-Update for it is late and
 *   changes nothing; a Stop is a duplicate if a Stop closed it, else (the sweeper, the
 *   NAS's Accounting-On, a conflict closed it) it corrects the record — session time and
 *   octets upward, the end and the binding only ever earlier — and charges the rest;
 * - a Start dates the session's start; an Interim-Update or a Stop without one (the Start
 *   was lost or overtaken) dates it by its own time less its Acct-Session-Time;
 * - counters only grow (the largest report wins whatever the order), so reordered
 *   Interim-Updates cannot roll a session back;
 * - a Stop closes the session and its binding at the Stop's time and charges the NAS's
 *   Acct-Session-Time (else the time from the start), once.
 *
 * `bindingStart` is the start of the session's binding, if it has one.
 */
export function applyAccounting(s: SessionRecord, r: AccountingReport, bindingStart: number | null, bindingEnd: number | null): SessionChange {
  if (s.status === 'closed') {
    if (r.kind === 'start') return unchanged('late-start');
    if (r.kind === 'interim') return unchanged('late-interim');
    if (s.closedBy === 'stop') return unchanged('duplicate-stop');
    return lateStop(s, r, bindingStart, bindingEnd);
  }
  const grown = grow(s, r);
  const lastSeenAt = Math.max(s.lastSeenAt, r.receivedAt);
  const acctSessionId = r.acctSessionId ?? s.acctSessionId;
  if (r.kind === 'start') {
    // A Start is the session's own word on when it began, whatever came before it.
    return { anomaly: s.status === 'active' ? 'duplicate-start' : null, next: { ...grown, status: 'active', startedAt: r.at, lastSeenAt, acctSessionId }, bindingEnd: null, charge: 0 };
  }
  const startedAt = s.startedAt ?? reportedStart(r);
  if (r.kind === 'interim') {
    return { anomaly: s.status === 'authorized' ? 'interim-without-start' : null, next: { ...grown, status: 'active', startedAt, lastSeenAt, acctSessionId }, bindingEnd: null, charge: 0 };
  }
  const sessionTime = r.sessionTime === null ? Math.max(grown.sessionTime, Math.floor((r.at - startedAt) / 1000)) : grown.sessionTime;
  const charge = chargeAtStop(sessionTime, s.chargedSeconds);
  const endedAt = Math.max(r.at, startedAt);
  return {
    anomaly: s.status === 'authorized' ? 'stop-without-start' : null,
    next: { ...grown, status: 'closed', closedBy: 'stop', startedAt, endedAt, lastSeenAt, acctSessionId, sessionTime, chargedSeconds: s.chargedSeconds + charge, terminateCause: r.terminateCause },
    bindingEnd: bindingStart === null ? null : Math.max(bindingStart, r.at),
    charge,
  };
}

/** A Stop after the session was closed without one: the NAS's word replaces the guess, but the session never grows back. */
function lateStop(s: SessionRecord, r: AccountingReport, bindingStart: number | null, bindingEnd: number | null): SessionChange {
  const grown = grow(s, r);
  const charge = chargeAtStop(grown.sessionTime, s.chargedSeconds);
  const startedAt = s.startedAt ?? reportedStart(r);
  const endedAt = Math.max(startedAt, Math.min(s.endedAt ?? r.at, r.at));
  const shortened = bindingStart !== null && bindingEnd !== null ? Math.max(bindingStart, Math.min(bindingEnd, r.at)) : null;
  return {
    anomaly: 'late-stop',
    next: { ...grown, closedBy: 'stop', startedAt, endedAt, chargedSeconds: s.chargedSeconds + charge, terminateCause: r.terminateCause ?? s.terminateCause },
    bindingEnd: shortened !== null && shortened !== bindingEnd ? shortened : null,
    charge,
  };
}

function grow(s: SessionRecord, r: AccountingReport): SessionRecord {
  return {
    ...s,
    sessionTime: Math.max(s.sessionTime, r.sessionTime ?? 0),
    inputOctets: Math.max(s.inputOctets, r.inputOctets ?? 0),
    outputOctets: Math.max(s.outputOctets, r.outputOctets ?? 0),
  };
}

/**
 * Closing a session without a Stop — the sweeper (`at` is now), the NAS's Accounting-On
 * or -Off (`at` is its time), or another session taking its address. It is charged only
 * what the NAS reported, never past its Session-Timeout; the sweeper's terminate cause
 * says what it charged and why.
 */
export function closeWithoutStop(s: SessionRecord, at: number, closedBy: Exclude<ClosedBy, 'stop'>, terminateCause: string | null, bindingStart: number | null): SessionChange {
  if (s.status === 'closed') return unchanged(null);
  const c = chargeWithoutStop({ reported: s.sessionTime, sessionTimeout: s.sessionTimeout, alreadyCharged: s.chargedSeconds });
  const begun = s.startedAt ?? s.authorizedAt ?? at;
  return {
    anomaly: null,
    next: { ...s, status: 'closed', closedBy, endedAt: Math.max(at, begun), chargedSeconds: c.total, terminateCause: closedBy === 'sweeper' ? staleTerminateCause(c) : terminateCause },
    bindingEnd: bindingStart === null ? null : Math.max(bindingStart, at),
    charge: c.charge,
  };
}
