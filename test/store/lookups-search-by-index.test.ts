import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { claimUnfinished } from '../../src/aaa/service/dynamic-authorization-queue.ts';
import { merchantSetup, shopper, type MerchantSetup } from '../support/merchant-harness.ts';
import { futureExpiry, testCardNumber } from '../support/test-cards.ts';

// Statements the gateway runs on every purchase or on a timer must not read a table that
// grows with traffic. Two did: the dynamic-authorization sender's poll each second, whose
// only index was partial and which SQLite cannot prove from its OR (8 ms a poll at 100,000
// finished requests; migration 0020), and the certification sweep's purge of idempotency
// keys every 5 s (29 ms at 500,000 keys; migration 0021). This asks SQLite for the plan of
// every statement a card purchase, its capture and refund, the poll and the sweep run,
// with the values they ran with (SQLite re-plans with them: a subscriber's active card is
// found through the partial index on active cards).

/** Tables a provider configures by hand: a few rows whatever the traffic, so read whole. */
const SMALL_TABLES = new Set(['pools', 'nas_clients', 'vault_master_keys', 'job_leases', 'merchant_networks', 'deterministic_nat']);

interface Prepared { text: string; db: Database.Database; args: unknown[] }
const executed = new Map<string, Prepared>();
let recording = false;

// Every statement the gateway prepares from now on is watched while `recording`.
const prepare = Database.prototype.prepare;
Database.prototype.prepare = function (this: Database.Database, text: string) {
  const statement = prepare.call(this, text);
  for (const method of ['run', 'get', 'all', 'iterate'] as const) {
    const original = statement[method] as (...a: unknown[]) => unknown;
    (statement as unknown as Record<string, unknown>)[method] = function (this: unknown, ...args: unknown[]) {
      if (recording && !executed.has(text)) executed.set(text, { text, db: (statement as unknown as { database: Database.Database }).database, args });
      return original.apply(this, args);
    };
  }
  return statement;
} as typeof Database.prototype.prepare;

/** The plan steps of `text`, with the values it first ran with, that read a whole table that grows with traffic. */
function tableScans({ text, db, args }: Prepared): string[] {
  const explain = prepare.call(db, `explain query plan ${text}`) as unknown as { all(...values: unknown[]): Array<{ detail: string }> };
  const plan = explain.all(...args);
  return plan.map((p) => p.detail).filter((d) => {
    const scanned = /^SCAN (\w+)(?! USING)/.exec(d)?.[1];
    return scanned !== undefined && !/^\d+-ROW$/.test(scanned) && !d.includes('VALUES CLAUSE') && !SMALL_TABLES.has(scanned);
  });
}

describe('the purchase path, the dynamic-authorization poll and the certification sweep search by index on SQLite', () => {
  let m: MerchantSetup;
  before(async () => {
    m = await merchantSetup('sqlite', 'search-by-index');
  });
  after(async () => m?.dispose());

  it('a card purchase, its capture and refund, the poll and the sweep read no table whole', async () => {
    // Other subscribers' cards: a scan would have rows to read.
    for (let i = 0; i < 5; i++) await shopper(m, `search-by-index-other-${i}`, { card: { number: testCardNumber(60 + i), expiry: futureExpiry() } });
    const { address } = await shopper(m, 'search-by-index-buyer', { card: { number: testCardNumber(70), expiry: futureExpiry() } });
    executed.clear();
    recording = true;
    try {
      const a = await m.client.authorizations.create({ customer: { address }, amount: 700, currency: 'EUR', settlement: 'card' });
      assert.equal(a.status, 'approved');
      await m.client.authorizations.capture(a.id, {});
      await m.client.authorizations.refund(a.id, { amount: 100 });
      const now = Date.now();
      await claimUnfinished(m.t.gateway.context.store.db, 'search-by-index', now, now - 60_000);
      await m.t.gateway.certification.sweep();
    } finally {
      recording = false;
    }
    const statements = [...executed.values()];
    assert.ok(statements.some((s) => /from "cards" where "subscriber_id"/.test(s.text)), 'the card lookup ran');
    assert.ok(statements.some((s) => /from "dynamic_authorizations"/.test(s.text)), 'the poll ran');
    assert.ok(statements.some((s) => /delete from "idempotency_keys" where "created_at"/.test(s.text)), 'the sweep ran');
    const scans = statements.map((s) => ({ scans: tableScans(s), text: s.text.replace(/\s+/g, ' ').slice(0, 160) })).filter((s) => s.scans.length > 0);
    assert.deepEqual(scans, []);
  });
});
