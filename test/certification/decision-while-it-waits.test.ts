import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql, type RawBuilder } from 'kysely';
import pg from 'pg';
import { IDEMPOTENCY_LEASE_MS, IdempotencyKeys, type IdempotencyClaim } from '../../src/certification/api/idempotency.ts';
import type { CreateAuthorization, MerchantRow } from '../../src/certification/authorization/authorization-service.ts';
import type { AuthorizationRow } from '../../src/certification/authorization/authorization-record.ts';
import { merchantView } from '../../src/certification/authorization/authorization-record.ts';
import type { DurableWrites } from '../../src/store/durable-writes.ts';
import type { Tx } from '../../src/store/open-store.ts';
import { dialects } from '../support/databases.ts';
import { merchantSetup, shopper, type MerchantSetup } from '../support/merchant-harness.ts';
import { futureExpiry, testCardNumber } from '../support/test-cards.ts';

// A PostgreSQL provider-bill purchase is decided by one data-modifying WITH
// (decision-statement.ts). Its sub-statements share one snapshot; only a locking clause or
// an UPDATE waits for a row another transaction holds and then reads that row's newest
// version. These tests hold the merchant's key row, or the subscriber's row, in another
// connection while the statement runs, change it, commit, and check that the decision
// answers by the change, as the statement-by-statement path (and SQLite, where the change
// simply commits first) does. On SQLite the same change is committed before the purchase:
// the answers must be the same. A change that lands after the purchase's reads but before
// its hold (a suspension, a card removed) is made at the start of the hold's own
// transaction, on both databases.

type Outcome = { ok: true; row: AuthorizationRow } | { ok: false; code: string };

async function outcomeOf(p: Promise<AuthorizationRow>): Promise<Outcome> {
  try {
    return { ok: true, row: await p };
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return { ok: false, code };
    throw e;
  }
}

for (const dialect of dialects) {
  describe(`a purchase's decision while another transaction holds what it needs on ${dialect}`, () => {
    let m: MerchantSetup;
    let merchant: MerchantRow;
    let keys: IdempotencyKeys;
    const db = () => m.t.gateway.context.store.db;
    const service = () => m.t.gateway.certification.authorizations;
    const hash = (key: string) => IdempotencyKeys.hash('POST', '/v1/authorizations', Buffer.from(key));

    before(async () => {
      m = await merchantSetup(dialect, `waits-${dialect}`, { settlement: 'provider_bill' });
      merchant = await db().selectFrom('merchants').select(['id', 'status', 'settlement_preference', 'pseudonym_salt']).where('id', '=', m.merchantId).executeTakeFirstOrThrow();
      keys = new IdempotencyKeys(m.t.gateway.context.store);
    });
    after(async () => m?.dispose());

    const claimOf = async (key: string, at = Date.now()): Promise<IdempotencyClaim> => {
      const started = await keys.begin(merchant.id, key, hash(key), at);
      assert.equal(started.kind, 'new');
      return (started as Extract<typeof started, { kind: 'new' }>).claim;
    };

    /** Backends of this database waiting for a lock (PostgreSQL). */
    const waiting = async (): Promise<number> => {
      const r = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.execute(db());
      return r.rows[0]!.n;
    };
    const untilWaiting = async (n: number): Promise<boolean> => {
      for (const deadline = Date.now() + 5_000; Date.now() < deadline; ) {
        if ((await waiting()) >= n) return true;
        await new Promise((r) => setTimeout(r, 10));
      }
      return false;
    };

    /**
     * Runs `lock` in a transaction of another connection, starts `purchase` (and then
     * each of `alsoWaiting`) while it is open, waits until each waits for a lock, runs
     * `change` and commits. On SQLite (one writer) `lock` and `change` commit first.
     * Returns whether PostgreSQL's statements really waited.
     */
    async function whileHeld<T>(lock: string[], change: string[], purchase: () => Promise<T>, alsoWaiting: Array<() => Promise<unknown>> = []): Promise<{ purchased: T; also: unknown[]; waited: boolean }> {
      if (dialect === 'sqlite') {
        // A row lock means nothing to SQLite's one writer: only the changes are made, first.
        for (const s of [...lock, ...change].filter((x) => !x.startsWith('select'))) await sql.raw(s).execute(db());
        const purchased = await purchase();
        const also = [];
        for (const a of alsoWaiting) also.push(await a());
        return { purchased, also, waited: true };
      }
      const blocker = new pg.Client({ connectionString: m.t.database.databaseUrl });
      await blocker.connect();
      try {
        await blocker.query('begin');
        for (const s of lock) await blocker.query(s);
        const pending = purchase();
        // Settled later; a rejection must not go unhandled meanwhile.
        pending.catch(() => undefined);
        let waited = await untilWaiting(1);
        const others = [];
        for (const [i, a] of alsoWaiting.entries()) {
          const p = a();
          p.catch(() => undefined);
          others.push(p);
          waited = (await untilWaiting(i + 2)) && waited;
        }
        for (const s of change) await blocker.query(s);
        await blocker.query('commit');
        return { purchased: await pending, also: await Promise.all(others), waited };
      } finally {
        await blocker.end();
      }
    }

    const writtenFor = async (subscriberId: string) => {
      const auths = await db().selectFrom('authorizations').selectAll().where('subscriber_id', '=', subscriberId).orderBy('id').execute();
      const ids = auths.map((a) => a.id);
      const ledger = ids.length === 0 ? [] : await db().selectFrom('ledger_entries').select(['authorization_id', 'account', 'amount']).where('authorization_id', 'in', ids).orderBy('amount').execute();
      const events = ids.length === 0 ? [] : await db().selectFrom('authorization_events').select(['authorization_id', 'type', 'id']).where('authorization_id', 'in', ids).execute();
      const eventIds = events.map((e) => e.id);
      const deliveries = eventIds.length === 0 ? [] : await db().selectFrom('webhook_deliveries').select(['event_id', 'event_type', 'payload']).where('event_id', 'in', eventIds).execute();
      const sub = await db().selectFrom('subscribers').select(['amount_used', 'spending_limit', 'spent_session_seconds', 'status']).where('id', '=', subscriberId).executeTakeFirstOrThrow();
      return { auths, ledger, events, deliveries, amountUsed: Number(sub.amount_used) };
    };

    const storedAnswer = async (key: string) => db().selectFrom('idempotency_keys').select(['status', 'owner', 'response_body']).where('merchant_id', '=', merchant.id).where('key', '=', key).executeTakeFirstOrThrow();

    /** What every decided purchase must have written: its row, its hold's two entries, one event, one delivery whose data is the answer, the answer under the key. */
    const assertDecided = async (subscriberId: string, row: AuthorizationRow, key: string | null) => {
      const w = await writtenFor(subscriberId);
      const mine = w.auths.filter((a) => a.id === row.id);
      assert.equal(mine.length, 1, 'the authorization is recorded');
      assert.equal(mine[0]!.status, row.status);
      const entries = w.ledger.filter((l) => l.authorization_id === row.id).map((l) => [l.account, Number(l.amount)]);
      assert.deepEqual(entries, row.status === 'declined' ? [] : [[`subscriber:${subscriberId}:available`, -row.amount], [`subscriber:${subscriberId}:held`, row.amount]], 'the hold\'s two ledger entries, or none for a decline');
      const events = w.events.filter((e) => e.authorization_id === row.id);
      assert.deepEqual(events.map((e) => e.type), [row.status], 'one event');
      const deliveries = w.deliveries.filter((d) => d.event_id === events[0]!.id);
      assert.deepEqual(deliveries.map((d) => d.event_type), [`authorization.${row.status}`], 'one webhook delivery');
      assert.deepEqual((JSON.parse(deliveries[0]!.payload) as { data: unknown }).data, merchantView(row), 'the webhook carries the answer sent');
      if (key !== null) {
        const stored = await storedAnswer(key);
        assert.equal(stored.status, 'done');
        assert.deepEqual(JSON.parse(stored.response_body!), merchantView(row), 'the key stores the answer sent');
      }
    };

    const purchaseOf = (address: string, amount: number, capture: 'manual' | 'automatic' = 'manual'): CreateAuthorization => ({ customer: { address }, amount, currency: 'EUR', capture });

    /**
     * Runs `purchase` with `change` made at the start of its hold's transaction (the
     * statement-by-statement path): after the purchase's reads, before its hold, on both
     * databases.
     */
    async function withHoldPrelude<T>(change: RawBuilder<unknown>, purchase: () => Promise<T>): Promise<T> {
      const writes = (service() as unknown as { writes: DurableWrites }).writes;
      const run = writes.run.bind(writes);
      writes.run = <U>(work: (tx: Tx) => Promise<U>): Promise<U> =>
        run(async (tx) => {
          await change.execute(tx);
          return work(tx);
        });
      try {
        return await purchase();
      } finally {
        writes.run = run;
      }
    }

    for (const rule of [null, 600] as const) {
      const path = rule === null ? 'committing on its own' : 'in the spending rule\'s transaction';
      it(`a key a retry takes over while the decision waits for it: nothing written, the heir decides once (${path})`, async () => {
        const login = `taken-${randomUUID().slice(0, 8)}`;
        const { address, subscriberId } = await shopper(m, login, { spendingLimit: 10_000, autoApproveLimit: 1_000_000 });
        if (rule !== null) await m.t.gateway.context.subscribers.setLimit(subscriberId, { spentSessionSeconds: rule });
        const key = `k-${login}`;
        const claim = await claimOf(key);
        const heirOwner = randomUUID();
        const where = `merchant_id = '${merchant.id}' and key = '${key}'`;
        const { purchased, waited } = await whileHeld(
          [`select 1 from idempotency_keys where ${where} for update`],
          [`update idempotency_keys set owner = '${heirOwner}', locked_until = ${Date.now() + IDEMPOTENCY_LEASE_MS} where ${where}`],
          () => outcomeOf(service().create(merchant, purchaseOf(address, 2_500), claim)),
        );
        assert.ok(waited, 'the decision waited for the key');
        assert.deepEqual(purchased, { ok: false, code: 'IDEMPOTENCY_KEY_IN_PROGRESS' });
        const w = await writtenFor(subscriberId);
        assert.deepEqual([w.amountUsed, w.auths.length, w.ledger.length, w.events.length], [0, 0, 0, 0], 'no hold, authorization, ledger entry or event');
        const stored = await storedAnswer(key);
        assert.deepEqual([stored.status, stored.owner], ['in_progress', heirOwner], 'the key waits for its heir');

        const heir = await service().create(merchant, purchaseOf(address, 2_500), { ...claim, owner: heirOwner });
        assert.equal(heir.status, 'approved');
        assert.equal((await writtenFor(subscriberId)).amountUsed, 2_500);
        await assertDecided(subscriberId, heir, key);
      });

      it(`the limit used up while the decision waits for the subscriber: declined, nothing held (${path})`, async () => {
        const login = `used-up-${randomUUID().slice(0, 8)}`;
        const { address, subscriberId } = await shopper(m, login, { spendingLimit: 10_000, autoApproveLimit: 1_000_000 });
        if (rule !== null) await m.t.gateway.context.subscribers.setLimit(subscriberId, { spentSessionSeconds: rule });
        const key = `k-${login}`;
        const claim = await claimOf(key);
        const { purchased, waited } = await whileHeld(
          [`update subscribers set amount_used = amount_used + 8000 where id = '${subscriberId}'`],
          [],
          () => outcomeOf(service().create(merchant, purchaseOf(address, 2_500), claim)),
        );
        assert.ok(waited, 'the decision waited for the subscriber');
        assert.ok(purchased.ok);
        assert.deepEqual([purchased.row.status, purchased.row.reason], ['declined', 'SPENDING_LIMIT_EXCEEDED']);
        assert.equal((await writtenFor(subscriberId)).amountUsed, 8_000, 'only what the other transaction took');
        await assertDecided(subscriberId, purchased.row, key);
      });
    }

    for (const [path, rule, capture] of [['committing on its own', null, 'manual'], ['in the spending rule\'s transaction', 600, 'manual'], ['statement by statement', null, 'automatic']] as const) {
      it(`the subscriber suspended while the decision waits for them: declined SUBSCRIBER_NOT_ACTIVE, not SPENDING_LIMIT_EXCEEDED, nothing held (${path})`, async () => {
        const login = `suspended-${randomUUID().slice(0, 8)}`;
        const { address, subscriberId } = await shopper(m, login, { spendingLimit: 10_000, autoApproveLimit: 1_000_000 });
        if (rule !== null) await m.t.gateway.context.subscribers.setLimit(subscriberId, { spentSessionSeconds: rule });
        const key = `k-${login}`;
        const claim = await claimOf(key);
        const { purchased, waited } = await whileHeld(
          [`update subscribers set status = 'suspended' where id = '${subscriberId}'`],
          [],
          () => outcomeOf(service().create(merchant, purchaseOf(address, 2_500, capture), claim)),
        );
        assert.ok(waited, 'the decision waited for the subscriber');
        assert.ok(purchased.ok);
        assert.deepEqual([purchased.row.status, purchased.row.reason], ['declined', 'SUBSCRIBER_NOT_ACTIVE']);
        assert.equal((await writtenFor(subscriberId)).amountUsed, 0, 'nothing held');
        await assertDecided(subscriberId, purchased.row, key);
      });
    }

    it('a suspension that lands between the purchase\'s read and its hold\'s transaction (statement by statement): declined SUBSCRIBER_NOT_ACTIVE', async () => {
      // On SQLite whileHeld commits the change before the purchase reads anything; here the
      // change is made at the start of the hold's own transaction instead, after the read.
      const login = `suspended-late-${randomUUID().slice(0, 8)}`;
      const { address, subscriberId } = await shopper(m, login, { spendingLimit: 10_000, autoApproveLimit: 1_000_000 });
      const declined = await withHoldPrelude(sql`update subscribers set status = 'suspended' where id = ${subscriberId}`, () => service().create(merchant, purchaseOf(address, 2_500, 'automatic')));
      assert.deepEqual([declined.status, declined.reason], ['declined', 'SUBSCRIBER_NOT_ACTIVE']);
      assert.equal((await writtenFor(subscriberId)).amountUsed, 0, 'nothing held');
    });

    for (const settlement of ['card', 'merchant_bill'] as const) {
      const reason = settlement === 'card' ? 'NO_CARD_ON_FILE' : 'MERCHANT_BILLING_NOT_ALLOWED';
      it(`a card removed between the purchase's read and its hold's transaction (${settlement}): declined ${reason}, as after the removal, not CREDIT_LIMIT_EXCEEDED; the spending hold given back`, async () => {
        const login = `card-gone-${randomUUID().slice(0, 8)}`;
        const { address, subscriberId } = await shopper(m, login, { spendingLimit: 10_000, autoApproveLimit: 1_000_000, card: { number: testCardNumber(settlement === 'card' ? 41 : 42), expiry: futureExpiry(), creditLimit: 100_000 } });
        if (settlement === 'merchant_bill') {
          await m.t.gateway.context.subscribers.setLimit(subscriberId, { releaseToMerchant: true });
          const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
          await m.t.gateway.context.merchants.addKey(m.merchantId, { publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(), use: 'enc', keyId: `enc-${login}` });
        }
        const declined = await withHoldPrelude(sql`update cards set status = 'removed' where subscriber_id = ${subscriberId}`, () => service().create(merchant, { ...purchaseOf(address, 2_500), settlement }));
        assert.deepEqual([declined.status, declined.reason], ['declined', reason]);
        assert.equal((await writtenFor(subscriberId)).amountUsed, 0, 'the spending hold given back');
        const after = await service().create(merchant, { ...purchaseOf(address, 2_500), settlement });
        assert.deepEqual([after.status, after.reason], ['declined', reason], 'the same answer as a purchase made after the removal');
      });
    }

    it('a spending rule set while the decision waits for the subscriber (read as none) still queues the session\'s limit', async () => {
      const login = `rule-late-${randomUUID().slice(0, 8)}`;
      const { address, subscriberId, sessionId } = await shopper(m, login, { spendingLimit: 2_500, autoApproveLimit: 1_000_000 });
      const key = `k-${login}`;
      const claim = await claimOf(key);
      const { purchased, waited } = await whileHeld(
        [`update subscribers set spent_session_seconds = 600 where id = '${subscriberId}'`],
        [],
        () => outcomeOf(service().create(merchant, purchaseOf(address, 2_500), claim)),
      );
      assert.ok(waited, 'the decision waited for the subscriber');
      assert.ok(purchased.ok);
      assert.equal(purchased.row.status, 'approved');
      await assertDecided(subscriberId, purchased.row, key);
      const requests = await db().selectFrom('dynamic_authorizations').select(['kind', 'reason']).where('session_id', '=', sessionId).execute();
      assert.deepEqual(requests.map((r) => r.reason), ['spending-limit'], 'the rule\'s CoA-Request for the session, once');
    });

    it('a spending rule set while the decision waits, whose request cannot be written: no purchase is made, as when the rule was read', async () => {
      const login = `rule-fault-${randomUUID().slice(0, 8)}`;
      const { address, subscriberId, sessionId } = await shopper(m, login, { spendingLimit: 2_500, autoApproveLimit: 1_000_000 });
      // The rule's request for this session fails to be written (a store fault, or the gateway dying after the hold).
      if (dialect === 'sqlite') {
        await sql.raw(`create trigger fault_${sessionId} before insert on dynamic_authorizations when new.session_id = '${sessionId}' begin select raise(abort, 'injected store fault'); end`).execute(db());
      } else {
        await sql.raw(`create or replace function fault_${sessionId}() returns trigger language plpgsql as $$ begin if new.session_id = '${sessionId}' then raise exception 'injected store fault'; end if; return new; end $$`).execute(db());
        await sql.raw(`create trigger fault_${sessionId} before insert on dynamic_authorizations for each row execute function fault_${sessionId}()`).execute(db());
      }
      const key = `k-${login}`;
      const claim = await claimOf(key);
      try {
        const { purchased, waited } = await whileHeld(
          [`update subscribers set spent_session_seconds = 0 where id = '${subscriberId}'`],
          [],
          () => service().create(merchant, purchaseOf(address, 2_500), claim).then((row) => ({ row }), (e: unknown) => ({ failed: String(e) })),
        );
        assert.ok(waited);
        assert.ok('failed' in purchased && /injected store fault/.test(purchased.failed), `the purchase fails with the fault: ${JSON.stringify(purchased)}`);
        const w = await writtenFor(subscriberId);
        assert.deepEqual([w.amountUsed, w.auths.length, w.ledger.length], [0, 0, 0], 'no hold without the rule\'s request: nothing is written');
        assert.equal((await storedAnswer(key)).status, 'in_progress', 'no answer stored: the retry runs afresh');
      } finally {
        await sql.raw(`drop trigger fault_${sessionId}${dialect === 'postgres' ? ' on dynamic_authorizations' : ''}`).execute(db());
      }
      // Once the store is well again, the retry makes the purchase and the rule's request together.
      const retried = await service().create(merchant, purchaseOf(address, 2_500), claim);
      assert.equal(retried.status, 'approved');
      await assertDecided(subscriberId, retried, key);
      assert.deepEqual((await db().selectFrom('dynamic_authorizations').select('reason').where('session_id', '=', sessionId).execute()).map((r) => r.reason), ['spending-limit']);
    });

    it('a spending rule removed while the decision waits (read as set) queues nothing', async () => {
      const login = `rule-gone-${randomUUID().slice(0, 8)}`;
      const { address, subscriberId, sessionId } = await shopper(m, login, { spendingLimit: 2_500, autoApproveLimit: 1_000_000 });
      await m.t.gateway.context.subscribers.setLimit(subscriberId, { spentSessionSeconds: 600 });
      const claim = await claimOf(`k-${login}`);
      const { purchased, waited } = await whileHeld(
        [`update subscribers set spent_session_seconds = null where id = '${subscriberId}'`],
        [],
        () => outcomeOf(service().create(merchant, purchaseOf(address, 2_500), claim)),
      );
      assert.ok(waited);
      assert.ok(purchased.ok);
      assert.equal(purchased.row.status, 'approved');
      await assertDecided(subscriberId, purchased.row, `k-${login}`);
      assert.deepEqual(await db().selectFrom('dynamic_authorizations').select('id').where('session_id', '=', sessionId).execute(), []);
    });

    it('a retry whose lease ended while the decision holds the key (and waits for the subscriber) gets the decision\'s answer, not a run of its own', async () => {
      const login = `held-key-${randomUUID().slice(0, 8)}`;
      const { address, subscriberId } = await shopper(m, login, { spendingLimit: 10_000, autoApproveLimit: 1_000_000 });
      const key = `k-${login}`;
      const claim = await claimOf(key);
      const { purchased, also, waited } = await whileHeld(
        [`update subscribers set updated_at = updated_at where id = '${subscriberId}'`],
        [],
        () => outcomeOf(service().create(merchant, purchaseOf(address, 2_500), claim)),
        // The retry comes after the lease: it would take the key over were the decision not holding it.
        [() => keys.begin(merchant.id, key, hash(key), Date.now() + IDEMPOTENCY_LEASE_MS + 1_000)],
      );
      assert.ok(waited, 'the decision waited for the subscriber and the retry for the key');
      assert.ok(purchased.ok);
      assert.equal(purchased.row.status, 'approved');
      const retry = also[0] as Awaited<ReturnType<IdempotencyKeys['begin']>>;
      assert.equal(retry.kind, 'replay', `the retry ${retry.kind === 'replay' ? 'replayed' : `got the key (${retry.kind})`}`);
      assert.deepEqual(JSON.parse((retry as { body: string }).body), merchantView(purchased.row));
      await assertDecided(subscriberId, purchased.row, key);
    });

    it('without an Idempotency-Key, a decision waiting for the subscriber holds against the newest row', async () => {
      const login = `no-key-${randomUUID().slice(0, 8)}`;
      const { address, subscriberId } = await shopper(m, login, { spendingLimit: 10_000, autoApproveLimit: null });
      const { purchased, waited } = await whileHeld(
        [`update subscribers set amount_used = amount_used + 7000 where id = '${subscriberId}'`],
        [],
        async () => [await outcomeOf(service().create(merchant, purchaseOf(address, 2_500))), await outcomeOf(service().create(merchant, purchaseOf(address, 1_000)))] as const,
      );
      assert.ok(waited);
      const [first, second] = purchased;
      assert.ok(first.ok && second.ok);
      assert.deepEqual([first.row.status, second.row.status], ['pending', 'declined']);
      assert.equal((await writtenFor(subscriberId)).amountUsed, 9_500);
      await assertDecided(subscriberId, first.row, null);
      await assertDecided(subscriberId, second.row, null);
    });
  });
}
