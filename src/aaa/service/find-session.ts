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
 * How much earlier than a session a copy of the report it was recorded from may say it
 * began: a NAS without Event-Timestamp that resends to another server after its timeout,
 * without raising Acct-Delay-Time as RFC 2866 §5.2 asks, dates the copy by its arrival
 * there, seconds later.
 */
const RESENT_WITHIN = 60_000;
/**
 * How far apart two identical Stops of a session too short for their spans to meet may be
 * dated and still be one: short, because a port-based Acct-Session-Id redialled and failing
 * the same way looks the same after a few seconds more.
 */
const STOP_RESENT_WITHIN = 10_000;

type SessionSpan = Pick<SessionTable, 'status' | 'authorized_at' | 'started_at' | 'ended_at' | 'closed_by' | 'session_time' | 'input_octets' | 'output_octets' | 'terminate_cause'>;
/** The columns reportIsAbout reads, for a query that hands it a row. */
export const SESSION_SPAN_COLUMNS = 'status, authorized_at, started_at, ended_at, closed_by, session_time, input_octets, output_octets, terminate_cause';

export interface OpenSessions {
  open: ReadonlyMap<string, OpenSession>;
  byAcctId: ReadonlyMap<string, string>;
  index: BindingIndex;
}

/** Every Accounting-Request for a session this gateway does not hold open asks this (an adopted Start always). */
const sessionsByAcctId = new PreparedStatement<SessionSpan & Pick<SessionTable, 'id' | 'login'>>(
  `select id, login, ${SESSION_SPAN_COLUMNS} from sessions where nas_id = ? and acct_session_id = ? order by id desc limit 8`,
);

const sameLogin = (a: string | null, b: string | null): boolean => !a || !b || a === b;

/**
 * Whether a report is about this session of the same NAS, Acct-Session-Id and login:
 *
 * - it is open;
 * - or the report starts within the session's time;
 * - or it starts up to {@link RESENT_WITHIN} before and its own span, to its time, meets
 *   the session's: a copy the NAS dated a few seconds later (by its arrival at another
 *   gateway) of a report the session was recorded from;
 * - or it is a Stop again, dated up to {@link STOP_RESENT_WITHIN} apart from the Stop that
 *   closed the session, with the same Acct-Session-Time, octets and Acct-Terminate-Cause:
 *   a copy of a session too short for the spans to meet.
 *
 * A NAS reuses Acct-Session-Ids (after a reboot; some per port), so a report starting after
 * the session ended, or ending before it began, is another session: a quick redial must
 * not vanish into the session before it.
 */
export function reportIsAbout(c: SessionSpan, r: Pick<AccountingReport, 'kind' | 'at' | 'sessionTime' | 'inputOctets' | 'outputOctets' | 'terminateCause'>): boolean {
  if (c.status !== 'closed') return true;
  const from = (c.started_at ?? c.authorized_at ?? -Infinity) - SECOND;
  const to = (c.ended_at ?? Infinity) + SECOND;
  const begun = reportedStart(r);
  if (begun <= to && begun >= from - RESENT_WITHIN && r.at >= from) return true;
  return (
    r.kind === 'stop' && c.closed_by === 'stop' && c.ended_at !== null && Math.abs(c.ended_at - r.at) <= STOP_RESENT_WITHIN &&
    r.sessionTime !== null && c.session_time === r.sessionTime && c.input_octets === (r.inputOctets ?? 0) && c.output_octets === (r.outputOctets ?? 0) && c.terminate_cause === r.terminateCause
  );
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
