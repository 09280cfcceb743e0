import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChannelItem, Peer } from '@sideband/channel';
import { SidebandApiError, SidebandClient } from '@sideband/merchant-sdk';
import { dialects } from '../support/databases.ts';
import { PROVIDER, world, type World } from '../support/channel-world.ts';
import { shopper } from '../support/merchant-harness.ts';
import { futureExpiry } from '../support/test-cards.ts';

/**
 * What negotiating an exchange must keep however few commits it takes: a replayed request
 * is refused, a retried one gets the answer stored with the exchange, a number of the
 * provider's pool serves one exchange at a time, and the card leaves only once its
 * exchange is active and its decryption audited. On both databases.
 */
for (const dialect of dialects) {
  describe(`negotiating a secure-channel exchange, on ${dialect}`, () => {
    let w: World;
    let provider: Peer;
    const requests: Array<{ url: string; init: RequestInit }> = [];
    let client: SidebandClient;

    before(async () => {
      w = await world(`channel-negotiation-${dialect}`, undefined, dialect);
      const caps = await w.m.client.channel.capabilities();
      provider = { party: 'provider', lineNumber: caps.lineNumber, fingerprint: caps.fingerprint };
      // A client whose requests are kept, to be sent again byte for byte.
      client = new SidebandClient({
        baseUrl: `http://${w.m.t.gateway.listen.merchantHttp}`, keyId: w.m.keyId, privateKey: w.m.privateKey, maxRetries: 0,
        fetch: async (url, init) => {
          requests.push({ url: String(url), init: init! });
          return fetch(url, init);
        },
      });
    });
    after(async () => {
      await w?.dispose();
    });

    const db = () => w.m.t.gateway.context.store.db;

    /** Reserves a number of the merchant's pool for an exchange in which the provider sends the card. */
    const reserve = (exchangeId: string) => {
      const received: ChannelItem[] = [];
      const reserved = w.endpoint.reserve({ exchangeId, peer: provider, expectIncoming: 1, outgoing: async () => [], onItem: (item) => void received.push(item) });
      assert.ok(reserved, 'the merchant has a free number');
      return { ...reserved, received };
    };

    it('a negotiation sent again byte for byte is refused, and the exchange is recorded and called once', async () => {
      const authorizationId = await w.authorizationId();
      const exchangeId = `exc_${randomBytes(12).toString('base64url')}`;
      const r = reserve(exchangeId);
      requests.length = 0;
      const created = await client.channel.createExchange({ exchangeId, authorizationId, firstSender: 'provider', items: { provider: 1, merchant: 0 }, number: r.number, token: r.token });
      assert.equal(created.status, 'calling');
      const sent = requests.find((q) => q.url.endsWith('/v1/channel/exchanges'))!;
      const replay = await fetch(sent.url, sent.init);
      assert.equal(replay.status, 401);
      assert.equal(((await replay.json()) as { error: { code: string } }).error.code, 'SIGNATURE_NONCE_REUSED');
      const outcome = await r.outcome;
      assert.equal(outcome.ok, true, JSON.stringify(outcome));
      assert.equal(r.received.length, 1, 'one card, over one call');
      const rows = await db().selectFrom('channel_exchanges').select('status').where('id', '=', exchangeId).execute();
      assert.equal(rows.length, 1);
    });

    it('a retry under the same Idempotency-Key gets the answer committed with the exchange, and places no second call', async () => {
      const authorizationId = await w.authorizationId();
      const exchangeId = `exc_${randomBytes(12).toString('base64url')}`;
      const r = reserve(exchangeId);
      const key = randomUUID();
      const params = { exchangeId, authorizationId, firstSender: 'provider' as const, items: { provider: 1, merchant: 0 }, number: r.number, token: r.token };
      const first = await client.channel.createExchange(params, { idempotencyKey: key });
      // Stored when the 201 left, not after it.
      const stored = await db().selectFrom('idempotency_keys').select(['status', 'response_status', 'response_body']).where('merchant_id', '=', w.m.merchantId).where('key', '=', key).executeTakeFirstOrThrow();
      assert.deepEqual([stored.status, stored.response_status], ['done', 201]);
      assert.deepEqual(JSON.parse(stored.response_body!), first);
      const again = await client.channel.createExchange(params, { idempotencyKey: key });
      assert.deepEqual(again, first, 'the stored answer, replayed');
      const outcome = await r.outcome;
      assert.equal(outcome.ok, true, JSON.stringify(outcome));
      assert.equal(r.received.length, 1);
      assert.equal((await db().selectFrom('channel_exchanges').select('id').where('id', '=', exchangeId).execute()).length, 1);
    });

    it('the same exchange id under another key is refused, and the first exchange keeps its own call', async () => {
      const authorizationId = await w.authorizationId();
      const exchangeId = `exc_${randomBytes(12).toString('base64url')}`;
      const r = reserve(exchangeId);
      const params = { exchangeId, authorizationId, firstSender: 'provider' as const, items: { provider: 1, merchant: 0 }, number: r.number, token: r.token };
      await client.channel.createExchange(params);
      await assert.rejects(client.channel.createExchange(params), (e: unknown) => e instanceof SidebandApiError && e.status === 409 && e.code === 'CHANNEL_EXCHANGE_ID_TAKEN');
      const outcome = await r.outcome;
      assert.equal(outcome.ok, true, JSON.stringify(outcome));
      assert.equal(r.received.length, 1, 'one card: the refused request placed no call');
    });

    it('exchanges negotiated at once never share a number of the provider\'s pool', async () => {
      const authorizationIds = await Promise.all(PROVIDER.numbers.map(() => w.authorizationId()).concat(w.authorizationId()));
      const results = await Promise.allSettled(authorizationIds.map((authorizationId) => client.channel.createExchange({ authorizationId, firstSender: 'merchant', items: { provider: 0, merchant: 1 } })));
      const numbers = results.flatMap((x) => (x.status === 'fulfilled' ? [x.value.number!] : []));
      assert.deepEqual([...numbers].sort(), [...PROVIDER.numbers].sort(), 'each number once');
      const refused = results.flatMap((x) => (x.status === 'rejected' ? [x.reason as SidebandApiError] : []));
      assert.deepEqual(refused.map((e) => e.code), ['CHANNEL_POOL_EXHAUSTED']);
      // Nobody calls: the reservations lapse (3 s in channel-world) and the numbers come back.
      const ids = results.flatMap((x) => (x.status === 'fulfilled' ? [x.value.id] : []));
      for (let i = 0; i < 100; i++) {
        const rows = await db().selectFrom('channel_exchanges').select(['status', 'cause']).where('id', 'in', ids).execute();
        if (rows.every((row) => row.status === 'failed')) {
          assert.ok(rows.every((row) => row.cause === 'no-call'));
          return;
        }
        await sleep(100);
      }
      assert.fail('the reservations did not lapse');
    });

    it('a number reserved for a request refused at its record (an exchange id taken) goes back at once', async () => {
      const negotiate = async (exchangeId?: string) => client.channel.createExchange({ ...(exchangeId ? { exchangeId } : {}), authorizationId: await w.authorizationId(), firstSender: 'merchant', items: { provider: 0, merchant: 1 } });
      const first = await negotiate();
      await assert.rejects(negotiate(first.id), (e: unknown) => e instanceof SidebandApiError && e.status === 409 && e.code === 'CHANNEL_EXCHANGE_ID_TAKEN');
      // Every other number of the pool is free now, not once the refused reservation lapses.
      const rest = await Promise.all(PROVIDER.numbers.slice(1).map(() => negotiate()));
      assert.deepEqual([first.number, ...rest.map((r) => r.number)].sort(), [...PROVIDER.numbers].sort());
    });

    it('the card leaves once its exchange is active and its decryption audited, both in one commit', async () => {
      const authorizationId = await w.authorizationId();
      const { exchangeId, outcome } = await w.channel.requestCard(authorizationId, 0);
      assert.equal((await outcome).ok, true);
      const row = await db().selectFrom('channel_exchanges').select(['status', 'active_at']).where('id', '=', exchangeId).executeTakeFirstOrThrow();
      assert.ok(row.active_at !== null);
      const audits = await db().selectFrom('audit_log').select(['at', 'detail']).where('action', '=', 'vault.decrypt').where('actor', '=', `channel:${exchangeId}`).execute();
      assert.equal(audits.length, 1, 'one decryption, audited');
      const { subscriber_id } = await db().selectFrom('authorizations').select('subscriber_id').where('id', '=', authorizationId).executeTakeFirstOrThrow();
      const card = await db().selectFrom('cards').innerJoin('vault_records as v', 'v.id', 'cards.record_id').select(['v.id', 'v.kind', 'v.key_id']).where('cards.subscriber_id', '=', subscriber_id!).executeTakeFirstOrThrow();
      // The entry Vault.auditOpen writes, whichever way the activation was committed.
      const audit = await db().selectFrom('audit_log').select(['subject_type', 'subject_id', 'detail']).where('action', '=', 'vault.decrypt').where('actor', '=', `channel:${exchangeId}`).executeTakeFirstOrThrow();
      assert.deepEqual([audit.subject_type, audit.subject_id, audit.detail], ['vault_record', card.id, JSON.stringify({ purpose: 'secure-channel', kind: card.kind, keyId: card.key_id })]);
      assert.ok(audits[0]!.at >= row.active_at!, 'audited once the exchange was active');
      assert.equal(w.cardAt.has(exchangeId), true);
    });

    /** Asks for the card as the merchant's SDK does; the refusal's code, or null when the exchange was set up. */
    const askForCard = async (authorizationId: string): Promise<string | null> => {
      try {
        const { outcome } = await w.channel.requestCard(authorizationId, 0);
        assert.equal((await outcome).ok, true);
        return null;
      } catch (e) {
        if (e instanceof SidebandApiError) return `${e.status} ${e.code}`;
        throw e;
      }
    };
    const exchangesOf = async (authorizationId: string) => (await db().selectFrom('channel_exchanges').select('id').where('authorization_id', '=', authorizationId).execute()).length;

    it('the card goes to a merchant that asks only with the subscriber\'s consent, and never for a purchase on the provider\'s bill', async () => {
      const cardsBefore = w.cards.length;
      // A shopper who never agreed to release card details to merchants.
      const wary = await shopper(w.m, `wary-${dialect}`, { card: { number: w.pan, expiry: futureExpiry() } });
      const a = await w.m.client.authorizations.create({ customer: { address: wary.address }, amount: 700, currency: 'EUR' });
      assert.equal(a.status, 'approved');
      assert.equal(await askForCard(a.id), '403 CHANNEL_CARD_NOT_RELEASED');
      assert.equal(await exchangesOf(a.id), 0, 'nothing recorded, nothing called');
      // Consent given, but the purchase is paid on the provider's bill: no card is involved.
      const willing = await shopper(w.m, `willing-${dialect}`, { card: { number: w.pan, expiry: futureExpiry() }, releaseToMerchant: true });
      const billed = await w.m.client.authorizations.create({ customer: { address: willing.address }, amount: 700, currency: 'EUR', settlement: 'provider_bill' });
      assert.equal(billed.status, 'approved');
      assert.equal(await askForCard(billed.id), '403 CHANNEL_CARD_NOT_RELEASED');
      assert.equal(w.cards.length, cardsBefore, 'no card reached the merchant');
    });

    it('one exchange per purchase carries the card: asked again, or twice at once, the merchant is refused', async () => {
      const once = await w.authorizationId();
      assert.equal(await askForCard(once), null);
      assert.equal(await askForCard(once), '409 CHANNEL_CARD_ALREADY_SENT');
      const twice = await w.authorizationId();
      const answers = await Promise.all([askForCard(twice), askForCard(twice)]);
      assert.deepEqual(answers.sort(), ['409 CHANNEL_CARD_ALREADY_SENT', null].sort());
      assert.equal(await exchangesOf(twice), 1);
    });

    it('an exchange stuck before it became active (a restart) stops holding the card back; one that became active and then failed does not', async () => {
      const stuck = await w.authorizationId();
      const row = (id: string, authorizationId: string, at: number, activeAt: number | null, status: 'calling' | 'failed') => ({
        id, merchant_id: w.m.merchantId, authorization_id: authorizationId, subscriber_id: null, initiator: 'merchant' as const, first_sender: 'provider' as const, provider_role: 'caller' as const,
        number: null, items_out: 1, items_in: 0, status, cause: null, fallback: null, created_at: at, active_at: activeAt, ended_at: null,
      });
      await db().insertInto('channel_exchanges').values(row(`exc_stuck_${dialect}_0001`, stuck, Date.now() - 3 * 3_600_000, null, 'calling')).execute();
      assert.equal(await askForCard(stuck), null, 'three hours stuck in calling: the card may be asked for again');
      const gone = await w.authorizationId();
      await db().insertInto('channel_exchanges').values(row(`exc_gone_${dialect}_00001`, gone, Date.now() - 60_000, Date.now() - 50_000, 'failed')).execute();
      assert.equal(await askForCard(gone), '409 CHANNEL_CARD_ALREADY_SENT', 'it became active: the card may have gone before it failed');
    });

    it('a card under a master key this gateway does not hold is neither audited nor sent', async () => {
      const authorizationId = await w.authorizationId();
      const { subscriber_id } = await db().selectFrom('authorizations').select('subscriber_id').where('id', '=', authorizationId).executeTakeFirstOrThrow();
      const card = await db().selectFrom('cards').select('record_id').where('subscriber_id', '=', subscriber_id!).executeTakeFirstOrThrow();
      await db().updateTable('vault_records').set({ key_id: 'mk_held_by_no_one' }).where('id', '=', card.record_id!).execute();
      const { exchangeId, outcome } = await w.channel.requestCard(authorizationId, 0);
      const o = await outcome;
      assert.equal(o.ok, false, 'the merchant got no card');
      assert.equal(w.cardAt.has(exchangeId), false);
      const audits = await db().selectFrom('audit_log').select('id').where('action', '=', 'vault.decrypt').where('actor', '=', `channel:${exchangeId}`).execute();
      assert.equal(audits.length, 0, 'nothing audited for a decryption that could not happen');
    });
  });
}
