import { EventEmitter } from 'node:events';
import type { Counter } from 'prom-client';
import { cidrContains } from '../../core/network/cidr.ts';
import type { ErrorCode } from '../../errors/registry.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { ChangeNotices } from '../../store/change-notices.ts';
import type { JobLeases } from '../../store/job-leases.ts';
import type { Store } from '../../store/open-store.ts';
import type { DynamicAuthorizationTable } from '../../store/schema.ts';
import type { AttributeInput } from '../wire/encode-packet.ts';
import { DynamicAuthorizationClient, type ClientOutcome } from './dynamic-authorization-client.ts';
import { claimUnfinished, DYNAMIC_AUTHORIZATION_CHANNEL, recordOutcome, releaseClaim, type Outcome } from './dynamic-authorization-queue.ts';
import type { NasClient, NasDirectory } from './nas-directory.ts';

export interface DynamicAuthorizationOptions {
  timeoutMs: number;
  attempts: number;
  pollMs: number;
}

/** The cluster-wide job that sends requests queued where no RADIUS socket was (the command line). */
const LEASE = 'dynamic-authorization';

/**
 * Carries out the queue of `dynamic-authorization-queue.ts`: requests this gateway queued
 * claimed (an operator's action through its API) at once, and, while it holds the
 * `dynamic-authorization` lease, those left pending by the command line or by a gateway
 * that died mid-send. Each outcome — ACK, NAK with its Error-Cause, no answer, or why
 * nothing could be sent — is recorded in the request's row, logged and counted.
 */
export class DynamicAuthorizationService {
  /** `recorded` (request id, status) after each outcome is written: for tests and the operator's tooling to wait on. */
  readonly events = new EventEmitter<{ recorded: [id: string, status: Outcome['status']] }>();
  private readonly client: DynamicAuthorizationClient;
  private readonly outcomes: Counter<'code' | 'outcome'>;
  private readonly inProgress = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  /** A claim older than this was made by a gateway that died: every retry would be over by now. */
  private readonly staleMs: number;

  constructor(
    private readonly store: Store,
    private readonly nas: NasDirectory,
    private readonly leases: JobLeases,
    private readonly logger: Logger,
    metrics: Metrics,
    private readonly options: DynamicAuthorizationOptions,
    notices: ChangeNotices | null,
  ) {
    this.client = new DynamicAuthorizationClient(options, logger, metrics);
    this.outcomes = metrics.counter('sideband_radius_dynamic_authorization_total', 'Disconnect- and CoA-Requests by outcome (ack, nak, timeout, failed)', ['code', 'outcome']);
    this.staleMs = 2 * options.timeoutMs * (2 ** options.attempts - 1) + 10_000;
    notices?.on(DYNAMIC_AUTHORIZATION_CHANNEL, () => this.pollSoon(), () => this.pollSoon());
  }

  /** The name this gateway claims requests under (its job-lease holder name). */
  get holder(): string {
    return this.leases.holder;
  }

  start(): void {
    this.timer = setInterval(() => this.pollSoon(), this.options.pollMs);
    this.timer.unref();
    this.pollSoon();
  }

  /** Looks for unclaimed requests now; a call while a look is under way asks for one more after it. */
  pollSoon(): void {
    if (this.stopped) return;
    if (this.polling) {
      this.again = true;
      return;
    }
    const ttl = Math.max(10_000, this.options.pollMs * 3);
    this.polling = this.leases
      .run(LEASE, ttl, async () => {
        const now = Date.now();
        for (const row of await claimUnfinished(this.store.db, this.holder, now, now - this.staleMs)) void this.carryOut(row);
      })
      .then(
        () => undefined,
        (e) => this.logger.error({ err: e }, 'could not claim queued dynamic-authorization requests'),
      )
      .finally(() => {
        this.polling = null;
        if (this.again) {
          this.again = false;
          this.pollSoon();
        }
      });
  }

  /** Sends requests this gateway queued already claimed; resolves when every outcome is recorded. */
  async sendClaimed(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const rows = await this.store.db.selectFrom('dynamic_authorizations').selectAll().where('id', 'in', [...ids]).where('status', '=', 'sending').where('claimed_by', '=', this.holder).execute();
    await Promise.all(rows.map((r) => this.carryOut(r)));
  }

  private carryOut(row: DynamicAuthorizationTable): Promise<void> {
    const running = this.inProgress.get(row.id);
    if (running) return running;
    const work = this.attempt(row)
      .catch((e) => this.logger.error({ err: e, request: row.id, session: row.session_id }, 'dynamic-authorization request failed; it stays claimed until its claim lapses'))
      .finally(() => this.inProgress.delete(row.id));
    this.inProgress.set(row.id, work);
    return work;
  }

  private async attempt(row: DynamicAuthorizationTable): Promise<void> {
    const code = row.kind === 'disconnect' ? 'Disconnect-Request' : 'CoA-Request';
    const session = await this.store.db.selectFrom('sessions').selectAll().where('id', '=', row.session_id).executeTakeFirstOrThrow();
    const nas = this.nas.byId(row.nas_id) ?? (await this.nas.reload(), this.nas.byId(row.nas_id));
    const fail = (errorCode: ErrorCode, message: string) => this.record(row, code, { status: 'failed', attempts: 0, destination: null, errorCause: null, detail: { code: errorCode, message } });
    if (!nas) return fail('DYNAMIC_AUTHORIZATION_NO_DESTINATION', 'The NAS client has been removed.');
    if (session.status === 'closed' && session.closed_by === 'stop') return fail('SESSION_CLOSED', 'The NAS reported the session\'s end (Accounting Stop) before the request was sent.');
    const address = destinationOf(nas, session.nas_ip_address);
    if (!address) return fail('DYNAMIC_AUTHORIZATION_NO_DESTINATION', `NAS ${nas.name} is registered as ${nas.range.text} and the session names no NAS-IP-Address inside it; give its dynamic-authorization address with \`sideband nas update ${nas.name} --coa-address A\`.`);
    const binding = await this.store.db.selectFrom('bindings').select('address').where('session_id', '=', session.id).where('end_at', 'is', null).executeTakeFirst();
    const framedPrefixes = await this.store.db.selectFrom('prefix_bindings').select(['network', 'prefix_length']).where('session_id', '=', session.id).where('kind', '=', 'framed-ipv6-prefix').where('end_at', 'is', null).execute();

    // RFC 5176 §3: NAS identification (NAS-IP-Address, NAS-Identifier) and session
    // identification (Acct-Session-Id, User-Name, Framed-IP-Address, NAS-Port, and for a
    // dual-stack session Framed-IPv6-Prefix and Framed-Interface-Id); "the combination …
    // MUST match at least one session", else the NAS NAKs with 503. Delegated-IPv6-Prefix
    // is not among §3's session identification attributes: a NAS may refuse it in a
    // Disconnect-Request (401 Unsupported Attribute), and in a CoA-Request RFC 4818 §3 makes
    // it an authorization to apply, so it is never sent.
    const attributes: AttributeInput[] = [];
    if (session.nas_ip_address) attributes.push({ name: 'NAS-IP-Address', value: session.nas_ip_address });
    if (session.nas_identifier) attributes.push({ name: 'NAS-Identifier', value: session.nas_identifier });
    attributes.push({ name: 'User-Name', value: session.login });
    if (session.acct_session_id) attributes.push({ name: 'Acct-Session-Id', value: session.acct_session_id });
    if (binding && !binding.address.includes(':')) attributes.push({ name: 'Framed-IP-Address', value: binding.address });
    for (const p of framedPrefixes) attributes.push({ name: 'Framed-IPv6-Prefix', value: `${p.network}/${p.prefix_length}` });
    if (session.framed_interface_id) attributes.push({ name: 'Framed-Interface-Id', value: Buffer.from(session.framed_interface_id, 'hex') });
    if (session.nas_port !== null) attributes.push({ name: 'NAS-Port', value: session.nas_port });
    // RFC 5176 §3.1 lists Session-Timeout among what a CoA-Request may change.
    if (row.kind === 'coa' && row.session_timeout !== null) attributes.push({ name: 'Session-Timeout', value: row.session_timeout });
    // RFC 5176 §3.1 / RFC 2869 §5.3: Event-Timestamp lets the NAS refuse a replayed request.
    attributes.push({ name: 'Event-Timestamp', value: new Date() });

    const destination = address.includes(':') ? `[${address}]:${nas.coaPort}` : `${address}:${nas.coaPort}`;
    const outcome = await this.client.send({ code, address, port: nas.coaPort, secret: nas.secret, attributes, requireMessageAuthenticator: nas.requireMessageAuthenticator });
    if (outcome.status === 'aborted') {
      // This gateway is stopping: the request goes back to the queue for the next one.
      await releaseClaim(this.store.db, row.id, this.holder, row.attempts + outcome.attempts);
      this.logger.info({ request: row.id, session: row.session_id, attempts: outcome.attempts }, `${code} given back to the queue: the gateway is stopping`);
      return;
    }
    return this.record(row, code, outcomeOf(outcome, destination, row.attempts));
  }

  private async record(row: DynamicAuthorizationTable, code: string, outcome: Outcome): Promise<void> {
    const recorded = await recordOutcome(this.store.db, row.id, this.holder, outcome);
    this.outcomes.inc({ code, outcome: outcome.status });
    if (recorded) this.events.emit('recorded', row.id, outcome.status);
    const detail = { request: row.id, session: row.session_id, reason: row.reason, destination: outcome.destination, attempts: outcome.attempts, errorCause: outcome.errorCause, ...(outcome.detail ?? {}), recorded };
    if (outcome.status === 'ack') this.logger.info(detail, `${code} acknowledged by the NAS`);
    else this.logger.warn(detail, outcome.status === 'nak' ? `${code} refused by the NAS` : outcome.status === 'timeout' ? `${code} unanswered by the NAS` : `${code} not sent`);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.polling;
    await this.client.close();
    await Promise.all(this.inProgress.values());
  }
}

/**
 * Where the NAS takes the request: the address its operator registered for that
 * (`--coa-address`, a dynamic-authorization server apart from the NAS's RADIUS source);
 * else the NAS-IP-Address it named for the session, when that lies in its registered
 * range (a NAS registered by a range sends from several addresses); else the registered
 * address itself when it is one host.
 */
function destinationOf(nas: NasClient, nasIpAddress: string | null): string | null {
  if (nas.coaAddress) return nas.coaAddress;
  if (nasIpAddress && cidrContains(nas.range, nasIpAddress)) return nasIpAddress;
  const single = nas.range.family === 4 ? 32 : 128;
  return nas.range.prefix === single ? nas.range.text.split('/')[0]! : null;
}

function outcomeOf(o: Exclude<ClientOutcome, { status: 'aborted' }>, destination: string, before: number): Outcome {
  const attempts = before + o.attempts;
  if (o.status === 'timeout') {
    return { status: 'timeout', attempts, destination, errorCause: null, detail: { code: 'DYNAMIC_AUTHORIZATION_NO_ANSWER', ...(o.ignored > 0 ? { ignoredAnswers: o.ignored } : {}) } };
  }
  return { status: o.status, attempts, destination, errorCause: o.errorCause, detail: o.status === 'nak' ? { code: 'DYNAMIC_AUTHORIZATION_NAK' } : null };
}
