import assert from 'node:assert/strict';
import { verifyWebhook, type WebhookKeySet } from '@sideband/merchant-sdk';
import { SimulatedAcquirer, type SimulatedEffect } from '../../src/certification/settlement/simulated-acquirer.ts';
import type { MerchantSetup } from './merchant-harness.ts';

/** Statuses in which an authorization still holds what it did not capture. */
const OPEN = new Set(['processing', 'pending', 'approved']);
/** Statuses an authorization the acquirer approved ends in when it is released with nothing captured (a void is owed). */
const RELEASED_UNCAPTURED = new Set(['voided', 'expired']);

interface AuthorizationFacts {
  id: string;
  subscriber_id: string;
  card_id: string | null;
  status: string;
  settlement: string;
  amount: number;
  captured_amount: number;
  refunded_amount: number;
  acquirer_reference: string | null;
}

/** What an authorization counts against its subscriber's spending limit (and its card's credit): the open hold, and what was captured and not refunded. */
const exposure = (a: AuthorizationFacts): number => (OPEN.has(a.status) ? a.amount - a.captured_amount : 0) + a.captured_amount - a.refunded_amount;
const heldBy = (a: AuthorizationFacts): number => (OPEN.has(a.status) ? a.amount - a.captured_amount : 0);

function sumBy<T>(rows: readonly T[], key: (r: T) => string | null, value: (r: T) => number): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of rows) {
    const k = key(r);
    if (k !== null) out.set(k, (out.get(k) ?? 0) + value(r));
  }
  return out;
}

const sorted = (xs: Array<number | null>): Array<number | null> => [...xs].sort((a, b) => (a ?? -1) - (b ?? -1));

/** The certification server's acquirer, which in tests is always the simulated one. */
export function simulatedAcquirer(m: MerchantSetup): SimulatedAcquirer {
  const acquirer = m.t.gateway.certification.acquirer;
  assert.ok(acquirer instanceof SimulatedAcquirer, 'the gateway runs the simulated acquirer');
  return acquirer;
}

/**
 * Waits until every instruction the acquirer is owed was sent: drains the outbox (which
 * sends whatever is due and runs again for what was queued meanwhile) until none is left
 * pending, a bounded number of times. An instruction the simulated acquirer never refuses
 * is done after one drain; the bound only keeps a bug from hanging the test.
 */
export async function settleAcquirer(m: MerchantSetup): Promise<void> {
  const db = m.t.gateway.context.store.db;
  const outbox = m.t.gateway.certification.authorizations.lifecycle.outbox;
  let open: Array<{ id: string; operation: string; status: string; attempts: number; last_error: string | null }> = [];
  for (let i = 0; i < 50; i++) {
    await outbox.drain();
    open = await db.selectFrom('acquirer_instructions').select(['id', 'operation', 'status', 'attempts', 'last_error']).where('status', '!=', 'done').execute();
    if (open.length === 0) return;
  }
  assert.fail(`acquirer instructions not done: ${JSON.stringify(open)}`);
}

/**
 * Checks that money is where every record says it is, after any step:
 * - the whole ledger sums to zero per currency (the operator API's balance);
 * - each subscriber's `amount_used` is its open holds plus what was captured and not
 *   refunded, and so is each card's `credit_used` for the authorizations on that card;
 *   the ledger's held and spent accounts of each subscriber say the same;
 * - the acquirer did each thing once and nothing else: one approved `authorize` effect
 *   per authorization carrying an acquirer reference, one `capture` / `refund` effect per
 *   capture / refund of such an authorization, one `void` per one released with nothing
 *   captured, every effect keyed by an authorization or an outbox instruction;
 * - no authorization is left `processing`.
 */
export async function assertBooksBalance(m: MerchantSetup, step: string): Promise<void> {
  await settleAcquirer(m);
  const db = m.t.gateway.context.store.db;
  const at = (what: string) => `${what} (after ${step})`;

  // 1. The ledger balances, as the operator sees it.
  const balance = (await m.t.operator('/v1/ledger/balance')) as { status: number; body: { data: Array<{ currency: string; sum: number }> } };
  assert.equal(balance.status, 200, at('GET /v1/ledger/balance'));
  for (const b of balance.body.data) assert.equal(b.sum, 0, at(`the ledger sums to zero in ${b.currency}`));

  const auths: AuthorizationFacts[] = (await db.selectFrom('authorizations').select(['id', 'subscriber_id', 'card_id', 'status', 'settlement', 'amount', 'captured_amount', 'refunded_amount', 'acquirer_reference']).execute())
    .map((a) => ({ ...a, amount: Number(a.amount), captured_amount: Number(a.captured_amount), refunded_amount: Number(a.refunded_amount) }));
  assert.deepEqual(auths.filter((a) => a.status === 'processing').map((a) => a.id), [], at('nothing is left processing'));

  // 2. Limits: what each subscriber and card carries is what its authorizations say.
  const bySubscriber = sumBy(auths, (a) => a.subscriber_id, exposure);
  for (const s of await db.selectFrom('subscribers').select(['id', 'login', 'amount_used']).execute()) {
    assert.equal(Number(s.amount_used), bySubscriber.get(s.id) ?? 0, at(`${s.login}'s amount_used is open holds + captured − refunded`));
  }
  const byCard = sumBy(auths, (a) => a.card_id, exposure);
  for (const c of await db.selectFrom('cards').select(['id', 'credit_used']).execute()) {
    assert.equal(Number(c.credit_used), byCard.get(c.id) ?? 0, at(`card ${c.id}'s credit_used is open holds + captured − refunded`));
  }
  const accounts = new Map((await db.selectFrom('ledger_entries').select(['account', (eb) => eb.fn.sum<number>('amount').as('sum')]).groupBy('account').execute()).map((r) => [r.account, Number(r.sum)]));
  const held = sumBy(auths, (a) => a.subscriber_id, heldBy);
  const spent = sumBy(auths, (a) => a.subscriber_id, (a) => a.captured_amount - a.refunded_amount);
  for (const id of new Set(auths.map((a) => a.subscriber_id))) {
    assert.equal(accounts.get(`subscriber:${id}:held`) ?? 0, held.get(id) ?? 0, at(`the ledger holds subscriber ${id}'s open holds`));
    assert.equal(accounts.get(`subscriber:${id}:spent`) ?? 0, spent.get(id) ?? 0, at(`the ledger's spent account of subscriber ${id} is captured − refunded`));
  }

  // 3. The acquirer's effects: each asked for once, nothing unasked.
  const acquirer = simulatedAcquirer(m);
  const effects = [...acquirer.effects.values()];
  const authorize = effects.filter((e) => e.op === 'authorize');
  const byId = new Map(auths.map((a) => [a.id, a]));
  for (const e of authorize) {
    const a = byId.get(e.idempotencyKey);
    assert.ok(a, at(`the acquirer authorized only authorizations that exist (${e.idempotencyKey})`));
    assert.equal(a.settlement, 'card', at(`only card authorizations reach the acquirer (${a.id})`));
  }
  const approvedAtAcquirer = authorize.filter((e) => e.approved).map((e) => [e.idempotencyKey, e.reference]).sort();
  const referenced = auths.filter((a) => a.acquirer_reference !== null).map((a) => [a.id, a.acquirer_reference]).sort();
  assert.deepEqual(approvedAtAcquirer, referenced, at('one approved authorize effect per authorization the acquirer approved, with its reference'));

  const instructions = await db.selectFrom('acquirer_instructions').select(['id', 'authorization_id', 'operation', 'reference', 'amount']).execute();
  const steps = effects.filter((e) => e.op !== 'authorize');
  assert.deepEqual(steps.map((e) => e.idempotencyKey).sort(), instructions.map((i) => i.id).sort(), at('one acquirer effect per outbox instruction, and none without one'));
  for (const i of instructions) {
    const e = acquirer.effects.get(i.id) as SimulatedEffect;
    assert.deepEqual([e.op, e.reference, e.amount], [i.operation, i.reference, i.amount === null ? null : Number(i.amount)], at(`the acquirer did what instruction ${i.id} said`));
  }
  const events = await db.selectFrom('authorization_events').select(['authorization_id', 'type', 'amount']).where('type', 'in', ['capture', 'refund']).execute();
  for (const a of auths.filter((x) => x.acquirer_reference !== null)) {
    const mine = steps.filter((e) => e.reference === a.acquirer_reference);
    for (const op of ['capture', 'refund'] as const) {
      const moved = events.filter((e) => e.authorization_id === a.id && e.type === op).map((e) => Number(e.amount));
      assert.deepEqual(sorted(mine.filter((e) => e.op === op).map((e) => e.amount)), sorted(moved), at(`one ${op} effect at the acquirer per ${op} of ${a.id}`));
    }
    assert.equal(mine.filter((e) => e.op === 'void').length, RELEASED_UNCAPTURED.has(a.status) ? 1 : 0, at(`a void at the acquirer exactly when ${a.id} (${a.status}) was released with nothing captured`));
  }
  for (const c of acquirer.calls) assert.ok(acquirer.effects.has(c.idempotencyKey), at(`every acquirer call is one of the effects (${c.op})`));
}

/** No response the merchant received shows an authorization `processing`: the acquirer's answer is always in it. */
export function assertNoProcessingShown(m: MerchantSetup): void {
  const shown = m.received.responses.filter((r) => /"status"\s*:\s*"processing"/.test(r));
  assert.deepEqual(shown, [], 'the merchant never sees an authorization processing');
}

/**
 * Delivers every queued webhook (the gateway's dispatcher ticks on its own too, and a
 * call made during its tick shares it, hence the bounded loop), then checks each delivery
 * arrived once, signed with the gateway's key, as the event it records.
 */
export async function assertWebhooksDelivered(m: MerchantSetup, keys: WebhookKeySet): Promise<number> {
  const db = m.t.gateway.context.store.db;
  let pending = Infinity;
  for (let i = 0; i < 50 && pending > 0; i++) {
    await m.t.gateway.certification.deliverWebhooks();
    pending = (await db.selectFrom('webhook_deliveries').select('id').where('merchant_id', '=', m.merchantId).where('status', '!=', 'delivered').execute()).length;
  }
  const deliveries = await db.selectFrom('webhook_deliveries').select(['event_id', 'event_type', 'status', 'attempts']).where('merchant_id', '=', m.merchantId).execute();
  assert.deepEqual(deliveries.filter((d) => d.status !== 'delivered'), [], 'every webhook was delivered');
  const received = new Map<string, ReturnType<typeof verifyWebhook>[]>();
  for (const w of m.received.webhooks) {
    const event = verifyWebhook({ body: w.body, signature: w.headers['sideband-signature'], keys });
    assert.equal(w.headers['sideband-event-id'], event.id, 'the event id header names the signed event');
    received.set(event.id, [...(received.get(event.id) ?? []), event]);
  }
  for (const d of deliveries) {
    const got = received.get(d.event_id) ?? [];
    assert.equal(got.length, 1, `event ${d.event_id} (${d.event_type}) arrived exactly once`);
    assert.equal(got[0]!.type, d.event_type);
    assert.notEqual(got[0]!.data.status, 'processing', 'a webhook never shows an authorization processing');
  }
  // Every state change the merchant is told of has its delivery (processing and the subscriber's confirmation of a card purchase are not told).
  const told = await db
    .selectFrom('authorization_events')
    .innerJoin('authorizations', 'authorizations.id', 'authorization_events.authorization_id')
    .select('authorization_events.id')
    .where('authorizations.merchant_id', '=', m.merchantId)
    .where('authorization_events.type', 'not in', ['processing', 'confirmed'])
    .execute();
  assert.deepEqual(told.map((e) => e.id).sort(), deliveries.map((d) => d.event_id).sort(), 'one webhook per state change');
  return deliveries.length;
}
