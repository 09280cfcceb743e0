import type { BindingIndex } from '../../core/resolution/binding-index.ts';
import type { Db, Dialect } from '../../store/open-store.ts';
import { PreparedStatement } from '../../store/prepared-statement.ts';
import type { SessionTable } from '../../store/schema.ts';
import { reportedStart, type AccountingReport } from '../protocol/session-accounting.ts';
import { sessionFromClass } from './session-class.ts';
import type { AccountingFacts, OpenSession } from './session-service.ts';

/** Event times are whole seconds on the NAS's clock: windows are compared with this much give. */
const SECOND = 1000;
/**
 * How far apart two copies of one Stop may be dated: a NAS without Event-Timestamp that
 * resends to another server after its timeout, without raising Acct-Delay-Time, dates the
 * copy by its arrival there, seconds later.
 */
const RESENT_WITHIN = 60_000;

type SessionSpan = Pick<SessionTable, 'status' | 'authorized_at' | 'started_at' | 'ended_at' | 'closed_by' | 'session_time'>;

export interface OpenSessions {
  open: ReadonlyMap<string, OpenSession>;
  byAcctId: ReadonlyMap<string, string>;
  index: BindingIndex;
}

/** Every Accounting-Request for a session this gateway does not hold open asks this (an adopted Start always). */
const sessionsByAcctId = new PreparedStatement<SessionSpan & Pick<SessionTable, 'id' | 'login'>>(
  'select id, status, login, authorized_at, started_at, ended_at, closed_by, session_time from sessions where nas_id = ? and acct_session_id = ? order by id desc limit 8',
);

const sameLogin = (a: string | null, b: string | null): boolean => !a || !b || a === b;

/**
 * Whether a report is about this session of the same NAS, Acct-Session-Id and login:
 *
 * - it is open;
 * - or the report's own span, from the start it implies to its time, meets the session's:
 *   one NAS session is never two at once, and a copy the NAS dated a few seconds later
 *   (by its arrival at another gateway) still meets it. A NAS reuses Acct-Session-Ids after
 *   a reboot, so a report starting after the session ended, or ending before it began,
 *   is another session;
 * - or it is a Stop again, however dated: a Stop closed the session, with the same
 *   Acct-Session-Time, within {@link RESENT_WITHIN} — a session too short for its spans to
 *   meet.
 */
export function reportIsAbout(c: SessionSpan, r: Pick<AccountingReport, 'kind' | 'at' | 'sessionTime'>): boolean {
  if (c.status !== 'closed') return true;
  const from = (c.started_at ?? c.authorized_at ?? -Infinity) - SECOND;
  const to = (c.ended_at ?? Infinity) + SECOND;
  if (reportedStart(r) <= to && r.at >= from) return true;
  return r.kind === 'stop' && c.closed_by === 'stop' && r.sessionTime !== null && c.session_time === r.sessionTime && c.ended_at !== null && Math.abs(c.ended_at - r.at) <= RESENT_WITHIN;
}

/**
 * The session an Accounting-Request is about, open or closed — a closed one must be found
 * so that late accounting is recognised as late instead of opening a ghost session:
 *
 * 1. by our Class (`sideband:ses_…`, RFC 2865 §5.25: the NAS echoes it unmodified), which
 *    names exactly one authorization, when it comes from that authorization's NAS;
 * 2. else by NAS and Acct-Session-Id: an open session with that id, or a closed one the
 *    report falls within (it reports a start between that session's start and end). A
 *    NAS reuses Acct-Session-Ids after a reboot, so a report starting after the closed
 *    session ended, or naming another login, is a new session;
 * 3. else, for a NAS that does not echo Class, its pending authorization for this login
 *    that holds the Framed-IP-Address it reports.
 *
 * Null when none: the session is adopted.
 */
export async function findSession(db: Db, dialect: Dialect, memory: OpenSessions, f: AccountingFacts, r: AccountingReport): Promise<string | null> {
  const byClass = sessionFromClass(f.classValue);
  if (byClass) {
    // Only the NAS the Access-Accept went to echoes its Class: another NAS sending it (a
    // copied or forged Class) is not that session's NAS, and must not stop or bill it.
    const open = memory.open.get(byClass);
    if (open) {
      if (open.nasId === f.nasId) return byClass;
    } else {
      const row = await db.selectFrom('sessions').select(['id', 'nas_id']).where('id', '=', byClass).executeTakeFirst();
      if (row && row.nas_id === f.nasId) return row.id;
    }
  }
  if (f.acctSessionId) {
    const known = memory.byAcctId.get(`${f.nasId}|${f.acctSessionId}`);
    const open = known ? memory.open.get(known) : undefined;
    if (open && sameLogin(open.login, f.login)) return open.id;
    const candidates = await sessionsByAcctId.all(db, dialect, [f.nasId, f.acctSessionId]);
    for (const c of candidates) {
      if (sameLogin(c.login, f.login) && reportIsAbout(c, r)) return c.id;
    }
  }
  if (f.framedAddress && f.login) {
    const holder = memory.index.openAt(f.framedAddress);
    const pending = holder ? memory.open.get(holder.sessionId) : undefined;
    if (pending && pending.status === 'authorized' && pending.nasId === f.nasId && pending.login === f.login) return pending.id;
  }
  return null;
}
