import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { claimUnfinished } from '../../src/aaa/service/dynamic-authorization-queue.ts';
import { merchantSetup, shopper, type MerchantSetup } from '../support/merchant-harness.ts';
import { futureExpiry, testCardNumber } from '../support/test-cards.ts';

// SQLite uses a partial index only when it can prove the index's WHERE from the query and
// its bound values. It can for a subscriber's active card (status = 'active'), but not for
// the dynamic-authorization sender's poll, "pending, or sending and stale", which read the
// whole table, every finished request ever made, each second on every gateway: 8 ms a poll
// at 100,000 (migration 0020). This asks SQLite for the plan of every statement the
// gateway runs on a card purchase and on that poll, with the values it ran them with.

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

describe('lookups on the purchase and dynamic-authorization paths search by index on SQLite', () => {
  let m: MerchantSetup;
  before(async () => {
    m = await merchantSetup('sqlite', 'search-by-index');
  });
  after(async () => m?.dispose());

  it('a card purchase, its capture and refund, and the sender poll read no table whole', async () => {
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
    } finally {
      recording = false;
    }
    const statements = [...executed.values()];
    assert.ok(statements.some((s) => /from "cards" where "subscriber_id"/.test(s.text)), 'the card lookup ran');
    assert.ok(statements.some((s) => /from "dynamic_authorizations"/.test(s.text)), 'the poll ran');
    const scans = statements.map((s) => ({ scans: tableScans(s), text: s.text.replace(/\s+/g, ' ').slice(0, 160) })).filter((s) => s.scans.length > 0);
    assert.deepEqual(scans, []);
  });
});
