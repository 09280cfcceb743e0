import type { Counter } from 'prom-client';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { AccountingAnomalyKind } from '../protocol/accounting-anomaly.ts';
import { accountingEventTime, type EventTimeRejection } from '../protocol/accounting-event-time.ts';
import { AcctStatusType } from '../wire/attribute-values.ts';
import type { AccountingFacts, AccountingOutcome, SessionService } from './session-service.ts';
import type { UnboundReason } from './prefix-bindings.ts';

/** An Accounting-Request as decoded: what it reports, and the attributes that date it. */
export interface AccountingRequest {
  /** Acct-Status-Type (RFC 2866 §5.1). */
  statusType: number;
  facts: AccountingFacts;
  /** Event-Timestamp in seconds (RFC 2869 §5.3), or null. */
  eventTimestamp: number | null;
  /** Acct-Delay-Time in seconds (RFC 2866 §5.2), or null. */
  acctDelayTime: number | null;
}

export type AccountingAnswer =
  | { answered: true; result: string; at: number; outcome: AccountingOutcome | null }
  | { answered: false; cause: EventTimeRejection; claimed: number };

export interface AccountingBounds {
  maxDelayMs: number;
  maxAheadMs: number;
}

type StatusKind = keyof typeof AcctStatusType;
type StatusHandler = (f: AccountingFacts, at: number, receivedAt: number) => Promise<{ result: string; outcome: AccountingOutcome | null }>;

const statusKinds = new Map<number, StatusKind>(Object.entries(AcctStatusType).map(([name, value]) => [value, name as StatusKind]));

/**
 * The accounting side of the authentication server, between the decoded request and the
 * sessions: dates each request on the NAS's clock (`protocol/accounting-event-time.ts`),
 * refuses absurd dates, applies it, and counts and logs what did not fit the session's
 * history. The answer says whether to acknowledge (every applied or recognised request,
 * late ones included, so the NAS stops retrying) or to drop and why.
 */
const unboundMessages: Record<UnboundReason, string> = {
  'outside-pools': 'Accounting reports an IPv6 prefix outside every pool; not bound',
  'held-by-another': 'Accounting reports an IPv6 prefix overlapping one another session holds; not bound',
  'covers-too-many-units': 'Accounting reports an IPv6 prefix covering too many of its pool\'s units; not bound',
};

export class AccountingService {
  private readonly anomalies: Counter<'kind'>;
  private readonly unboundPrefixes: Counter<'reason'>;
  private readonly handlers: Record<StatusKind, StatusHandler>;
  private readonly lastDateWarning = new Map<string, number>();

  constructor(
    private readonly sessions: SessionService,
    private readonly bounds: AccountingBounds,
    private readonly logger: Logger,
    metrics: Metrics,
  ) {
    this.anomalies = metrics.counter('sideband_radius_accounting_anomalies_total', 'Accounting-Requests acknowledged that did not fit the session\'s history, by kind', ['kind']);
    this.unboundPrefixes = metrics.counter('sideband_radius_ipv6_prefixes_unbound_total', 'IPv6 prefixes a NAS reported in accounting that did not become bindings, by reason', ['reason']);
    const record = (kind: 'start' | 'interim' | 'stop', result: string): StatusHandler => async (f, at, receivedAt) => ({ result, outcome: await this.sessions.account(kind, f, at, receivedAt) });
    const restart = (cause: string, result: string): StatusHandler => async (f, at) => {
      const closed = await this.sessions.closeAllOf(f.nasId, cause, at);
      this.logger.info({ nas: f.nasId, closed, at: new Date(at).toISOString() }, `${result}: closed every session the NAS had begun by then`);
      return { result, outcome: null };
    };
    this.handlers = {
      'Start': record('start', 'start'),
      'Interim-Update': record('interim', 'interim'),
      'Stop': record('stop', 'stop'),
      // RFC 2866 §5.1: the NAS (re)started or is going down; its sessions are over.
      'Accounting-On': restart('NAS-Reboot', 'accounting-on'),
      'Accounting-Off': restart('Admin-Reboot', 'accounting-off'),
    };
  }

  async handle(request: AccountingRequest, receivedAt = Date.now()): Promise<AccountingAnswer> {
    const time = accountingEventTime({ eventTimestamp: request.eventTimestamp, acctDelayTime: request.acctDelayTime, receivedAt, maxDelayMs: this.bounds.maxDelayMs, maxAheadMs: this.bounds.maxAheadMs });
    if (!time.ok) {
      // A NAS retransmits what it is not answered: warned once a minute per NAS, the rest at debug (all counted by the caller).
      const nas = request.facts.nasId;
      const quiet = receivedAt - (this.lastDateWarning.get(nas) ?? -Infinity) < 60_000;
      if (!quiet) this.lastDateWarning.set(nas, receivedAt);
      const detail = { nas, cause: time.cause, claimed: new Date(time.claimed).toISOString(), acctSessionId: request.facts.acctSessionId };
      this.logger[quiet ? 'debug' : 'warn'](detail, 'Accounting-Request dated outside the accepted bounds; dropped');
      return { answered: false, cause: time.cause, claimed: time.claimed };
    }
    const kind = statusKinds.get(request.statusType);
    // Unknown status types are acknowledged, so the NAS stops retrying, and counted.
    if (!kind) return { answered: true, result: `status-${request.statusType}`, at: time.at, outcome: null };
    const { result, outcome } = await this.handlers[kind](request.facts, time.at, receivedAt);
    if (outcome?.anomaly) this.noteAnomaly(outcome.anomaly, request, outcome, time.at);
    if (outcome?.addressChange) this.noteAddressChange(request, outcome, time.at);
    for (const u of outcome?.unboundPrefixes ?? []) {
      this.unboundPrefixes.inc({ reason: u.reason });
      this.logger.warn({ nas: request.facts.nasId, session: outcome!.sessionId, acctSessionId: request.facts.acctSessionId, attribute: u.kind, prefix: u.prefix, reason: u.reason }, unboundMessages[u.reason]);
    }
    return { answered: true, result, at: time.at, outcome };
  }

  private noteAnomaly(kind: AccountingAnomalyKind, request: AccountingRequest, outcome: AccountingOutcome, at: number): void {
    this.anomalies.inc({ kind });
    const f = request.facts;
    const detail = { kind, nas: f.nasId, session: outcome.sessionId, acctSessionId: f.acctSessionId, login: f.login, at: new Date(at).toISOString() };
    if (kind === 'address-conflict' && outcome.conflict) {
      this.logger.warn({ ...detail, address: outcome.conflict.address, holders: outcome.conflict.holders, policy: outcome.conflict.policy }, 'Accounting claims an address another session holds');
    } else {
      this.logger.info(detail, 'accounting anomaly');
    }
  }

  /** A known session's NAS reported another address; a conflict it met is noted with it. */
  private noteAddressChange(request: AccountingRequest, outcome: AccountingOutcome, at: number): void {
    const change = outcome.addressChange!;
    const f = request.facts;
    const detail = { nas: f.nasId, session: outcome.sessionId, acctSessionId: f.acctSessionId, login: f.login, at: new Date(at).toISOString(), from: change.from, to: change.to, followed: change.followed };
    if (change.from !== null) this.anomalies.inc({ kind: 'address-changed' });
    if (outcome.conflict) {
      this.anomalies.inc({ kind: 'address-conflict' });
      this.logger.warn({ ...detail, holders: outcome.conflict.holders, policy: outcome.conflict.policy }, 'Accounting moves a session to an address another session holds');
    } else if (change.from !== null) {
      this.logger.warn(detail, change.followed ? 'Accounting reports a new address for a session; its binding follows' : 'Accounting reports another address for a closing session; recorded');
    }
  }
}
