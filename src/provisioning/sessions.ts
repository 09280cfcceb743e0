import { portRangeReportsOf, type PortRangeReportView } from '../aaa/service/port-range-report.ts';
import { dynamicAuthorization, dynamicAuthorizationsOf, isFinished, queueSessionDisconnect, type DynamicAuthorizationView } from '../aaa/service/dynamic-authorization-queue.ts';
import { toIso } from '../core/time/to-iso.ts';
import { SidebandError } from '../errors/sideband-error.ts';
import { appendAudit } from '../store/audit-log.ts';
import type { Store } from '../store/open-store.ts';
import type { ChangeOrigin } from './subscribers.ts';

/** A session as the operator sees it: its accounting, bindings, anomalies and dynamic authorizations. */
export interface SessionView {
  id: string;
  subscriberId: string | null;
  login: string;
  status: string;
  nasId: string;
  nasIdentifier: string | null;
  nasPort: number | null;
  acctSessionId: string | null;
  framedAddress: string | null;
  authorizedAt: string | null;
  startedAt: string | null;
  endedAt: string | null;
  lastSeenAt: string | null;
  sessionTime: number;
  inputOctets: number;
  outputOctets: number;
  terminateCause: string | null;
  closedBy: string | null;
  sessionTimeout: number | null;
  chargedSeconds: number;
  bindings: Array<{ id: string; address: string; portFirst: number | null; portLast: number | null; start: string | null; end: string | null }>;
  anomalies: Array<{ kind: string; otherSessionId: string | null; eventAt: string | null; receivedAt: string | null; detail: unknown }>;
  /** Disconnect- and CoA-Requests sent to its NAS (RFC 5176), oldest first, with their outcomes. */
  dynamicAuthorizations: DynamicAuthorizationView[];
  /** IP-Port-Range reports (RFC 8045) its NAT sent in accounting, applied or refused. */
  portRanges: PortRangeReportView[];
}

/** Operator-side view of sessions and the one action on them: ending one at its NAS. */
export class SessionProvisioning {
  constructor(
    private readonly store: Store,
    private readonly actor = 'cli',
  ) {}

  async show(id: string): Promise<SessionView> {
    const db = this.store.db;
    const s = await db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
    if (!s) throw new SidebandError('SESSION_NOT_FOUND', `No session ${id}.`, { param: 'id' });
    const bindings = await db.selectFrom('bindings').selectAll().where('session_id', '=', id).orderBy('start_at').execute();
    const anomalies = await db.selectFrom('accounting_anomalies').selectAll().where((eb) => eb.or([eb('session_id', '=', id), eb('other_session_id', '=', id)])).orderBy('received_at').limit(100).execute();
    return {
      id: s.id, subscriberId: s.subscriber_id, login: s.login, status: s.status, nasId: s.nas_id, nasIdentifier: s.nas_identifier, nasPort: s.nas_port, acctSessionId: s.acct_session_id,
      framedAddress: s.framed_address, authorizedAt: toIso(s.authorized_at), startedAt: toIso(s.started_at), endedAt: toIso(s.ended_at), lastSeenAt: toIso(s.last_seen_at),
      sessionTime: s.session_time, inputOctets: s.input_octets, outputOctets: s.output_octets, terminateCause: s.terminate_cause, closedBy: s.closed_by,
      sessionTimeout: s.session_timeout, chargedSeconds: s.charged_seconds,
      bindings: bindings.map((b) => ({ id: b.id, address: b.address, portFirst: b.port_first, portLast: b.port_last, start: toIso(b.start_at), end: toIso(b.end_at) })),
      // Late, duplicate, reordered or conflicting accounting about it (docs/radius.md).
      anomalies: anomalies.map((a) => ({ kind: a.kind, otherSessionId: a.session_id === id ? a.other_session_id : a.session_id, eventAt: toIso(a.event_at), receivedAt: toIso(a.received_at), detail: a.detail ? (JSON.parse(a.detail) as unknown) : null })),
      dynamicAuthorizations: await dynamicAuthorizationsOf(db, id),
      portRanges: await portRangeReportsOf(db, id),
    };
  }

  /**
   * Queues a Disconnect-Request for the session (RFC 5176 §3), with an audit entry, in one
   * transaction, and returns it as queued: the NAS's answer is recorded later (see
   * `waitFor`). A request already under way for the session is returned instead of a second.
   */
  async disconnect(id: string, origin: ChangeOrigin = {}): Promise<DynamicAuthorizationView> {
    const actor = origin.actor ?? this.actor;
    const now = Date.now();
    const requestId = await this.store.db.transaction().execute(async (tx) => {
      const queued = await queueSessionDisconnect(tx, id, { requestedBy: actor, reason: 'operator-disconnect', now, claimedBy: origin.claimedBy ?? null });
      await appendAudit(tx, { actor, action: 'session.disconnect', subjectType: 'session', subjectId: id, detail: { request: queued } });
      return queued;
    });
    return (await dynamicAuthorization(this.store.db, requestId))!;
  }

  /**
   * Waits, reading the store every `pollMs`, until the request has an outcome or
   * `timeoutMs` passed; returns it as it then stands. The command line has no socket of
   * its own: a running gateway sends, and this only reads what it recorded.
   */
  async waitFor(requestId: string, timeoutMs: number, pollMs = 100): Promise<DynamicAuthorizationView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const view = await dynamicAuthorization(this.store.db, requestId);
      if (!view) throw new SidebandError('SESSION_NOT_FOUND', `No dynamic-authorization request ${requestId}.`);
      if (isFinished(view.status) || Date.now() >= deadline) return view;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }
}
