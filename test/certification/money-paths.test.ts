import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { compactDecrypt } from 'jose';
import type { Authorization, CreateAuthorization, SidebandApiError } from '@sideband/merchant-sdk';
import { dialects } from '../support/databases.ts';
import { merchantSetup, shopper, type MerchantSetup } from '../support/merchant-harness.ts';
import { assertBooksBalance, assertNoProcessingShown, assertWebhooksDelivered, simulatedAcquirer } from '../support/money-books.ts';
import { futureExpiry, TEST_CARD_COUNT, testCardNumber } from '../support/test-cards.ts';

const code = (e: unknown) => (e as SidebandApiError).code;
const HOUR = 3_600_000;
const captureWindowHours = 24;
const confirmationMinutes = 15;

/**
 * A test card the simulated acquirer approves (it declines numbers ending in 0002 or 9995,
 * see simulated-acquirer.ts); the numbers depend on SIDEBAND_TEST_SEED, so pick, don't assume.
 */
function approvableCard(from: number): string {
  for (let i = from; i < TEST_CARD_COUNT; i++) {
    const n = testCardNumber(i);
    if (!n.endsWith('0002') && !n.endsWith('9995')) return n;
  }
  throw new Error(`no approvable test card from index ${from}`);
}

/**
 * Every money path of the merchant API, through the SDK, on each database: capture (in
 * full and in parts, and past the authorized amount), void, refund, expiry, the three
 * settlements and webhooks. After each step the books must agree (support/money-books.ts):
 * the ledger balances, the spending limit and the card's credit carry exactly the open
 * holds plus what was captured and not refunded, and the acquirer did each thing it was
 * asked once and nothing else.
 */
for (const dialect of dialects) {
  describe(`money paths on ${dialect}`, () => {
    let m: MerchantSetup;
    const books = (step: string) => assertBooksBalance(m, step);
    const create = (address: string, amount: number, extra: Partial<CreateAuthorization> = {}) => m.client.authorizations.create({ customer: { address }, amount, currency: 'EUR', ...extra });
    /** A subscriber with a card (credit limit 60,000) who confirms purchases over 5,000 themselves. */
    const cardHolder = async (login: string, card: number) => shopper(m, login, { spendingLimit: 100_000, autoApproveLimit: 5_000, card: { number: approvableCard(card), expiry: futureExpiry(), creditLimit: 60_000 } });

    before(async () => {
      m = await merchantSetup(dialect, `money-${dialect}`, { settlement: 'card', config: { merchantApi: { captureWindowHours, confirmationMinutes } } });
    });
    after(async () => m?.dispose());

    // First, while nothing else is open: expireDue acts on every authorization due.
    it('expiry: an approval not captured within captureWindowHours, and a purchase not confirmed within confirmationMinutes', async () => {
      const lifecycle = m.t.gateway.certification.authorizations.lifecycle;
      const db = m.t.gateway.context.store.db;
      // The sweep runs here at a time to come, so what it queues (a void for the acquirer, a
      // webhook) is due then; bring it back to the test's present so that it is sent now.
      const expireAt = async (at: number) => {
        const n = await lifecycle.expireDue(at);
        const now = Date.now();
        await db.updateTable('acquirer_instructions').set({ next_attempt_at: now }).where('status', '=', 'pending').where('next_attempt_at', '>', now).where('attempts', '=', 0).execute();
        await db.updateTable('webhook_deliveries').set({ next_attempt_at: now }).where('status', '=', 'pending').where('next_attempt_at', '>', now).where('attempts', '=', 0).execute();
        return n;
      };
      const { address } = await cardHolder('ezra', 48);
      const untouched = await create(address, 2_000);
      const partly = await create(address, 3_000);
      await m.client.authorizations.capture(partly.id, { amount: 1_000 });
      const billed = await create(address, 1_500, { settlement: 'provider_bill' });
      const unconfirmed = await create(address, 8_000);
      assert.deepEqual([untouched.status, partly.status, billed.status], ['approved', 'approved', 'approved']);
      assert.deepEqual([unconfirmed.status, unconfirmed.reason], ['pending', 'CONFIRMATION_REQUIRED']);
      const window = (a: Authorization) => Date.parse(a.expiresAt) - Date.parse(a.createdAt);
      assert.ok(Math.abs(window(untouched) - captureWindowHours * HOUR) < 60_000, 'an approval expires captureWindowHours after it was made');
      assert.ok(Math.abs(window(unconfirmed) - confirmationMinutes * 60_000) < 60_000, 'a pending purchase expires confirmationMinutes after it was asked');
      await books('four open authorizations, one partly captured');

      // Not a millisecond early.
      assert.equal(await expireAt(Date.parse(unconfirmed.expiresAt) - 1), 0);
      assert.equal(await expireAt(Date.parse(unconfirmed.expiresAt)), 1);
      const declined = await m.client.authorizations.retrieve(unconfirmed.id);
      assert.deepEqual([declined.status, declined.reason], ['declined', 'CONFIRMATION_EXPIRED']);
      await books('the unconfirmed purchase expired');

      const approvals = [untouched, partly, billed];
      assert.equal(await expireAt(Math.min(...approvals.map((a) => Date.parse(a.expiresAt))) - 1), 0);
      assert.equal(await expireAt(Math.max(...approvals.map((a) => Date.parse(a.expiresAt)))), 3);
      const [u, p, b] = await Promise.all(approvals.map((a) => m.client.authorizations.retrieve(a.id)));
      assert.deepEqual([u!.status, u!.capturedAmount], ['expired', 0]);
      assert.deepEqual([p!.status, p!.capturedAmount], ['captured', 1_000], 'what was captured stays; the rest is released');
      assert.deepEqual([b!.status, b!.capturedAmount], ['expired', 0]);
      await assert.rejects(m.client.authorizations.capture(untouched.id), (e) => code(e) === 'AUTHORIZATION_STATE_INVALID');
      await books('the approvals expired');
      const used = await m.t.gateway.context.store.db.selectFrom('subscribers').select('amount_used').where('login', '=', 'ezra').executeTakeFirstOrThrow();
      assert.equal(Number(used.amount_used), 1_000, 'only what was captured still counts');
    });

    it('capture: in full, in several parts, and never past the authorized amount', async () => {
      const { address } = await cardHolder('cato', 49);
      const whole = await create(address, 2_500);
      assert.equal(whole.status, 'approved');
      await books('a card approval');
      const all = await m.client.authorizations.capture(whole.id);
      assert.deepEqual([all.object, all.amount, all.authorizationId], ['capture', 2_500, whole.id]);
      assert.deepEqual([(await m.client.authorizations.retrieve(whole.id)).status, (await m.client.captures.retrieve(all.id)).amount], ['captured', 2_500]);
      await assert.rejects(m.client.authorizations.capture(whole.id, { amount: 1 }), (e) => code(e) === 'AUTHORIZATION_STATE_INVALID');
      await books('a capture in full');

      const parts = await create(address, 4_800);
      const first = await m.client.authorizations.capture(parts.id, { amount: 1_000 });
      await books('a first partial capture');
      const second = await m.client.authorizations.capture(parts.id, { amount: 2_000 });
      assert.deepEqual([first.amount, second.amount], [1_000, 2_000]);
      await assert.rejects(m.client.authorizations.capture(parts.id, { amount: 1_801 }), (e) => code(e) === 'CAPTURE_EXCEEDS_AUTHORIZED');
      const midway = await m.client.authorizations.retrieve(parts.id);
      assert.deepEqual([midway.status, midway.capturedAmount], ['approved', 3_000], 'a refused capture takes nothing');
      await books('a capture past the authorized amount was refused');
      const rest = await m.client.authorizations.capture(parts.id);
      assert.equal(rest.amount, 1_800, 'without an amount, the rest');
      const done = await m.client.authorizations.retrieve(parts.id);
      assert.deepEqual([done.status, done.capturedAmount], ['captured', 4_800]);
      assert.deepEqual(await Promise.all([first, second, rest].map(async (c) => (await m.client.captures.retrieve(c.id)).amount)), [1_000, 2_000, 1_800]);
      await books('three partial captures');

      const automatic = await create(address, 1_200, { capture: 'automatic' });
      assert.deepEqual([automatic.status, automatic.capturedAmount], ['captured', 1_200], 'the acquirer approved, then the capture went with it');
      await books('an automatic capture');
    });

    it('void: nothing captured is voided; partly captured is closed as captured and the rest released', async () => {
      const { address } = await cardHolder('vera', 50);
      const nothing = await create(address, 1_800);
      const voided = await m.client.authorizations.void(nothing.id);
      assert.deepEqual([voided.status, voided.capturedAmount], ['voided', 0]);
      await books('a void of an untouched approval');

      const some = await create(address, 4_000);
      await m.client.authorizations.capture(some.id, { amount: 1_500 });
      const closed = await m.client.authorizations.void(some.id);
      assert.deepEqual([closed.status, closed.capturedAmount], ['captured', 1_500]);
      await assert.rejects(m.client.authorizations.void(some.id), (e) => code(e) === 'AUTHORIZATION_STATE_INVALID');
      await assert.rejects(m.client.authorizations.capture(some.id), (e) => code(e) === 'AUTHORIZATION_STATE_INVALID');
      await books('a void after a partial capture');

      const waiting = await create(address, 9_000);
      assert.equal(waiting.status, 'pending');
      assert.equal((await m.client.authorizations.void(waiting.id)).status, 'voided');
      await books('a void of a pending purchase');
      const used = await m.t.gateway.context.store.db.selectFrom('subscribers').select('amount_used').where('login', '=', 'vera').executeTakeFirstOrThrow();
      assert.equal(Number(used.amount_used), 1_500);
    });

    it('refund: in full, in parts, while still open, and never past what was captured', async () => {
      const { address } = await cardHolder('rhea', 51);
      const sold = await create(address, 5_000, { capture: 'automatic' });
      assert.equal(sold.status, 'captured');
      const r1 = await m.client.authorizations.refund(sold.id, { amount: 1_000, reason: 'damaged' });
      await books('a first partial refund');
      const r2 = await m.client.authorizations.refund(sold.id, { amount: 1_500 });
      await assert.rejects(m.client.authorizations.refund(sold.id, { amount: 2_501 }), (e) => code(e) === 'REFUND_EXCEEDS_CAPTURED');
      assert.equal((await m.client.authorizations.retrieve(sold.id)).refundedAmount, 2_500, 'a refused refund gives nothing back');
      await books('a refund past what was captured was refused');
      const r3 = await m.client.authorizations.refund(sold.id);
      assert.deepEqual([r1.amount, r2.amount, r3.amount], [1_000, 1_500, 2_500]);
      assert.equal((await m.client.refunds.retrieve(r3.id)).object, 'refund');
      const back = await m.client.authorizations.retrieve(sold.id);
      assert.deepEqual([back.status, back.capturedAmount, back.refundedAmount], ['refunded', 5_000, 5_000]);
      await assert.rejects(m.client.authorizations.refund(sold.id, { amount: 1 }), (e) => code(e) === 'REFUND_EXCEEDS_CAPTURED');
      await books('refunded in full, in three parts');

      const whole = await create(address, 700);
      await m.client.authorizations.capture(whole.id);
      assert.equal((await m.client.authorizations.refund(whole.id)).amount, 700);
      assert.equal((await m.client.authorizations.retrieve(whole.id)).status, 'refunded');
      await books('a refund in full at once');

      const open = await create(address, 3_000);
      await assert.rejects(m.client.authorizations.refund(open.id, { amount: 1 }), (e) => code(e) === 'AUTHORIZATION_STATE_INVALID', 'nothing captured, nothing to refund');
      await m.client.authorizations.capture(open.id, { amount: 1_000 });
      await m.client.authorizations.refund(open.id, { amount: 400 });
      await assert.rejects(m.client.authorizations.refund(open.id, { amount: 601 }), (e) => code(e) === 'REFUND_EXCEEDS_CAPTURED');
      assert.equal((await m.client.authorizations.retrieve(open.id)).status, 'approved', 'refunding part of a capture leaves the rest open');
      await books('a refund while the rest is still open');
      await m.client.authorizations.capture(open.id);
      const end = await m.client.authorizations.retrieve(open.id);
      assert.deepEqual([end.status, end.capturedAmount, end.refundedAmount], ['captured', 3_000, 400]);
      await books('captured after a refund');
      const used = await m.t.gateway.context.store.db.selectFrom('subscribers').select('amount_used').where('login', '=', 'rhea').executeTakeFirstOrThrow();
      assert.equal(Number(used.amount_used), 2_600);
    });

    it('the acquirer\'s answer: a decline gives every hold back; a purchase the subscriber confirms is then authorized there', async () => {
      const { address } = await cardHolder('ivo', 52);
      // The simulated acquirer refuses amounts ending in 51 minor units (insufficient funds).
      const refused = await create(address, 1_051);
      assert.deepEqual([refused.status, refused.reason], ['declined', 'CARD_DECLINED']);
      const effect = simulatedAcquirer(m).effects.get(refused.id);
      assert.deepEqual([effect?.op, effect?.approved], ['authorize', false], 'the acquirer was asked, once, and said no');
      await books('a decline by the acquirer');

      const asked = await create(address, 7_000);
      assert.equal(asked.status, 'pending');
      assert.equal(simulatedAcquirer(m).effects.has(asked.id), false, 'a purchase waiting for the subscriber has not reached the acquirer');
      const confirmed = await fetch(`http://${m.t.gateway.listen.operatorHttp}/v1/authorizations/${asked.id}/approve`, { method: 'POST', headers: { authorization: `Bearer ${m.t.token}` } });
      assert.equal(((await confirmed.json()) as { status: string }).status, 'approved');
      assert.equal(simulatedAcquirer(m).effects.get(asked.id)?.approved, true);
      await books('a purchase the subscriber confirmed');
      await m.client.authorizations.capture(asked.id);
      await books('its capture');
    });

    it('settlement: card, provider_bill (on the subscriber\'s statement) and merchant_bill (billing details as a JWE)', async () => {
      const ctx = m.t.gateway.context;
      const from = new Date(Date.now() - 1).toISOString();
      const operator = async <T>(path: string) => (await m.t.operator(`/v1${path}`)).body as T;

      const { address: cardAddress } = await cardHolder('cleo', 53);
      const byCard = await create(cardAddress, 1_000, { capture: 'automatic' });
      assert.deepEqual([byCard.settlement, byCard.status, byCard.billingDetails], ['card', 'captured', null]);
      await books('card settlement');

      const { address: billAddress } = await shopper(m, 'bill');
      const byBill = await create(billAddress, 2_000, { settlement: 'provider_bill', capture: 'automatic', description: 'Films' });
      assert.deepEqual([byBill.settlement, byBill.status], ['provider_bill', 'captured']);
      let statement = await operator<{ total: number; currency: string; lines: Array<{ amount: number; description: string; authorization: string }> }>('/subscribers/bill/statement');
      assert.deepEqual([statement.total, statement.currency, statement.lines.map((l) => [l.authorization, l.description, l.amount])], [2_000, 'EUR', [[byBill.id, 'Films', 2_000]]]);
      await books('provider_bill settlement');
      await m.client.authorizations.refund(byBill.id, { amount: 500 });
      statement = await operator('/subscribers/bill/statement');
      assert.deepEqual([statement.total, statement.lines.map((l) => l.amount)], [1_500, [2_000, -500]], 'the refund is a line of its own');
      await books('a provider_bill refund');

      const pan = approvableCard(54);
      const { address: selfAddress } = await shopper(m, 'mira', { card: { number: pan, expiry: futureExpiry(), creditLimit: 60_000 } });
      await ctx.subscribers.setLimit('mira', { releaseToMerchant: true });
      const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      await ctx.merchants.addKey(m.merchantId, { publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(), use: 'enc', keyId: `money-enc-${dialect}` });
      const bySelf = await create(selfAddress, 900, { settlement: 'merchant_bill' });
      assert.deepEqual([bySelf.settlement, bySelf.status], ['merchant_bill', 'approved']);
      assert.equal(bySelf.billingDetails!.split('.').length, 5, 'a compact JWE');
      assert.ok(!JSON.stringify(bySelf).includes(pan));
      const { plaintext, protectedHeader } = await compactDecrypt(bySelf.billingDetails!, privateKey);
      assert.equal(protectedHeader.kid, `money-enc-${dialect}`);
      const details = JSON.parse(new TextDecoder().decode(plaintext)) as { cardNumber: string; holderName: string; amount: number; currency: string; authorization: string };
      assert.deepEqual([details.cardNumber === pan, details.holderName, details.amount, details.currency, details.authorization], [true, 'mira Example', 900, 'EUR', bySelf.id]);
      assert.equal(simulatedAcquirer(m).effects.has(bySelf.id), false, 'the merchant bills the card itself; the acquirer is not asked');
      await books('merchant_bill approval (it holds the card\'s credit)');
      await m.client.authorizations.capture(bySelf.id);
      await books('merchant_bill capture');

      // What the provider owes the merchant: card and provider_bill only; the merchant collects merchant_bill itself.
      const report = await operator<{ owed: Array<{ settlement: string; currency: string; amount: number }> }>(`/merchants/${m.merchantId}/settlement-report?from=${encodeURIComponent(from)}`);
      assert.deepEqual(report.owed.map((o) => [o.settlement, o.currency, o.amount]).sort(), [['card', 'EUR', 1_000], ['provider_bill', 'EUR', 1_500]]);
    });

    it('concurrent captures, refunds and a void of one authorization never move more than it allows', async () => {
      const { address } = await cardHolder('cass', 55);
      const a = await create(address, 4_000);
      const captures = await Promise.allSettled(Array.from({ length: 10 }, () => m.client.authorizations.capture(a.id, { amount: 500 })));
      assert.equal(captures.filter((r) => r.status === 'fulfilled').length, 8, 'eight captures of 500 fit in 4,000');
      assert.ok(captures.every((r) => r.status === 'fulfilled' || ['CAPTURE_EXCEEDS_AUTHORIZED', 'AUTHORIZATION_STATE_INVALID'].includes(code(r.reason))), 'the others are refused for that reason');
      assert.deepEqual([(await m.client.authorizations.retrieve(a.id)).status, (await m.client.authorizations.retrieve(a.id)).capturedAmount], ['captured', 4_000]);
      await books('concurrent captures');
      const refunds = await Promise.allSettled(Array.from({ length: 10 }, () => m.client.authorizations.refund(a.id, { amount: 500 })));
      assert.equal(refunds.filter((r) => r.status === 'fulfilled').length, 8, 'eight refunds of 500 fit in 4,000');
      assert.ok(refunds.every((r) => r.status === 'fulfilled' || code(r.reason) === 'REFUND_EXCEEDS_CAPTURED'));
      assert.deepEqual([(await m.client.authorizations.retrieve(a.id)).status, (await m.client.authorizations.retrieve(a.id)).refundedAmount], ['refunded', 4_000]);
      await books('concurrent refunds');

      const b = await create(address, 3_000);
      const raced = await Promise.allSettled([...Array.from({ length: 5 }, () => m.client.authorizations.capture(b.id, { amount: 500 })), m.client.authorizations.void(b.id)]);
      const captured = raced.slice(0, 5).filter((r) => r.status === 'fulfilled').length;
      const final = await m.client.authorizations.retrieve(b.id);
      assert.equal(final.capturedAmount, captured * 500, 'every capture that answered is in the authorization, none other');
      assert.equal(final.status, raced[5]!.status === 'fulfilled' ? (captured > 0 ? 'captured' : 'voided') : 'approved');
      if (final.status === 'approved') await m.client.authorizations.void(b.id);
      await books('captures racing a void');

      // A refund of all that was captured racing the void that closes the rest: whichever
      // wins, a closed authorization whose captures were all refunded is `refunded`.
      for (let i = 0; i < 8; i++) {
        const c = await create(address, 1_000);
        await m.client.authorizations.capture(c.id, { amount: 400 });
        const [refund, voided] = await Promise.allSettled([m.client.authorizations.refund(c.id, {}), m.client.authorizations.void(c.id)]);
        assert.equal(refund.status, 'fulfilled', 'the refund');
        if (voided.status === 'rejected') {
          assert.equal(code(voided.reason), 'AUTHORIZATION_STATE_INVALID', 'a void that lost the race is told to retry');
          await m.client.authorizations.void(c.id);
        }
        const closed = await m.client.authorizations.retrieve(c.id);
        assert.deepEqual([closed.status, closed.capturedAmount, closed.refundedAmount], ['refunded', 400, 400], `race ${i}`);
      }
      await books('refunds racing voids');
    });

    it('webhooks: one per state change, delivered and signed; no response or webhook ever shows processing', async () => {
      const delivered = await assertWebhooksDelivered(m, await m.client.webhookKeys());
      assert.ok(delivered >= 40, `${delivered} webhooks`);
      assertNoProcessingShown(m);
      await books('everything');
    });
  });
}
