import type { FastifyInstance } from 'fastify';
import { SidebandError } from '../errors/sideband-error.ts';
import type { Store } from '../store/open-store.ts';
import type { CertificationServer } from './certification-server.ts';
import { subscriberStatement } from './subscriber-statement.ts';
import { pageLimit } from '../operator/page-limit.ts';
import { toIso } from '../core/time/to-iso.ts';

function period(q: { from?: string; to?: string }): { from: number; to: number } {
  const from = q.from ? Date.parse(q.from) : 0;
  const to = q.to ? Date.parse(q.to) : Date.now() + 1;
  if (Number.isNaN(from) || Number.isNaN(to)) throw new SidebandError('REQUEST_INVALID', 'from and to must be ISO 8601 times.', { param: Number.isNaN(from) ? 'from' : 'to' });
  return { from, to };
}

/**
 * Operator (and portal) routes of the certification server: the subscriber's answer to a
 * pending purchase, statements, settlement reports, and webhook delivery history.
 */
export function certificationRoutes(cert: CertificationServer, store: Store) {
  return (app: FastifyInstance): void => {
    app.get('/authorizations', async (req) => {
      const q = req.query as { subscriber?: string; merchant?: string; status?: string; limit?: string };
      let query = store.db.selectFrom('authorizations').innerJoin('subscribers', 'subscribers.id', 'authorizations.subscriber_id').innerJoin('merchants', 'merchants.id', 'authorizations.merchant_id')
        .select(['authorizations.id', 'authorizations.status', 'authorizations.reason', 'authorizations.amount', 'authorizations.currency', 'authorizations.captured_amount', 'authorizations.refunded_amount', 'authorizations.settlement', 'authorizations.description', 'authorizations.created_at', 'authorizations.expires_at', 'subscribers.login', 'merchants.name as merchant'])
        .orderBy('authorizations.id', 'desc').limit(pageLimit(q.limit, 50, 500));
      if (q.subscriber) query = query.where('subscribers.login', '=', q.subscriber);
      if (q.merchant) query = query.where('authorizations.merchant_id', '=', q.merchant);
      if (q.status) query = query.where('authorizations.status', '=', q.status);
      const rows = await query.execute();
      return { data: rows.map((r) => ({ id: r.id, login: r.login, merchant: r.merchant, status: r.status, reason: r.reason, amount: r.amount, currency: r.currency, capturedAmount: r.captured_amount, refundedAmount: r.refunded_amount, settlement: r.settlement, description: r.description, createdAt: toIso(r.created_at), expiresAt: toIso(r.expires_at) })) };
    });
    /** One authorization with every event of its life (decision, confirmation, captures, refunds, release). */
    app.get('/authorizations/:id', async (req) => {
      const { id } = req.params as { id: string };
      const r = await store.db.selectFrom('authorizations').innerJoin('subscribers', 'subscribers.id', 'authorizations.subscriber_id').innerJoin('merchants', 'merchants.id', 'authorizations.merchant_id')
        .select(['authorizations.id', 'authorizations.status', 'authorizations.reason', 'authorizations.amount', 'authorizations.currency', 'authorizations.captured_amount', 'authorizations.refunded_amount', 'authorizations.settlement', 'authorizations.description', 'authorizations.created_at', 'authorizations.expires_at', 'authorizations.session_id', 'subscribers.login', 'merchants.name as merchant', 'merchants.id as merchant_id'])
        .where('authorizations.id', '=', id).executeTakeFirst();
      if (!r) throw new SidebandError('AUTHORIZATION_NOT_FOUND', `No authorization ${id}.`, { param: 'id' });
      const events = await store.db.selectFrom('authorization_events').selectAll().where('authorization_id', '=', id).orderBy('at').orderBy('id').execute();
      return {
        id: r.id, login: r.login, merchant: r.merchant, merchantId: r.merchant_id, sessionId: r.session_id, status: r.status, reason: r.reason, amount: r.amount, currency: r.currency, capturedAmount: r.captured_amount, refundedAmount: r.refunded_amount,
        settlement: r.settlement, description: r.description, createdAt: toIso(r.created_at), expiresAt: toIso(r.expires_at),
        events: events.map((e) => ({ id: e.id, type: e.type, amount: e.amount, at: toIso(e.at), detail: e.detail ? (JSON.parse(e.detail) as unknown) : null })),
      };
    });
    app.post('/authorizations/:id/approve', async (req) => {
      const row = await cert.authorizations.lifecycle.approveBySubscriber((req.params as { id: string }).id);
      return { id: row.id, status: row.status, reason: row.reason };
    });
    app.post('/authorizations/:id/decline', async (req) => {
      const row = await cert.authorizations.lifecycle.declineBySubscriber((req.params as { id: string }).id);
      return { id: row.id, status: row.status, reason: row.reason };
    });

    /** provider_bill: the lines on a subscriber's bill for a period. */
    app.get('/subscribers/:login/statement', async (req) => {
      const { login } = req.params as { login: string };
      const { from, to } = period(req.query as { from?: string; to?: string });
      const sub = await store.db.selectFrom('subscribers').select(['id', 'currency']).where('login', '=', login).executeTakeFirst();
      if (!sub) throw new SidebandError('SUBSCRIBER_NOT_FOUND', `No subscriber ${login}.`, { param: 'login' });
      const { total, lines } = await subscriberStatement(store, sub.id, from, to);
      return { login, from: toIso(from), to: toIso(to), currency: sub.currency, total, lines };
    });

    /** What the provider owes a merchant for a period, by settlement. */
    app.get('/merchants/:id/settlement-report', async (req) => {
      const { id } = req.params as { id: string };
      const { from, to } = period(req.query as { from?: string; to?: string });
      const rows = await store.db.selectFrom('ledger_entries').innerJoin('authorizations', 'authorizations.id', 'ledger_entries.authorization_id')
        .select(['authorizations.settlement', 'ledger_entries.currency', (eb) => eb.fn.sum<number>('ledger_entries.amount').as('amount'), (eb) => eb.fn.count<number>('ledger_entries.id').as('entries')])
        .where('ledger_entries.account', '=', `merchant:${id}:payable`).where('ledger_entries.at', '>=', from).where('ledger_entries.at', '<', to)
        .groupBy(['authorizations.settlement', 'ledger_entries.currency']).execute();
      // The payable account is credited: a negative balance is what the provider owes.
      return { merchant: id, from: toIso(from), to: toIso(to), owed: rows.map((r) => ({ settlement: r.settlement, currency: r.currency, amount: -Number(r.amount), entries: Number(r.entries) })) };
    });

    app.get('/merchants/:id/webhook-deliveries', async (req) => {
      const { id } = req.params as { id: string };
      const rows = await store.db.selectFrom('webhook_deliveries').select(['id', 'event_id', 'event_type', 'url', 'status', 'attempts', 'last_status', 'last_error', 'created_at', 'delivered_at', 'next_attempt_at']).where('merchant_id', '=', id).orderBy('created_at', 'desc').limit(200).execute();
      return { data: rows.map((r) => ({ id: r.id, eventId: r.event_id, type: r.event_type, url: r.url, status: r.status, attempts: r.attempts, lastStatus: r.last_status, lastError: r.last_error, createdAt: toIso(r.created_at), deliveredAt: toIso(r.delivered_at), nextAttemptAt: r.status === 'pending' ? toIso(r.next_attempt_at) : null })) };
    });

    app.get('/ledger/balance', async () => {
      const rows = await store.db.selectFrom('ledger_entries').select(['currency', (eb) => eb.fn.sum<number>('amount').as('sum'), (eb) => eb.fn.count<number>('id').as('entries')]).groupBy('currency').execute();
      return { data: rows.map((r) => ({ currency: r.currency, sum: Number(r.sum), entries: Number(r.entries) })) };
    });
  };
}
