import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { claimUnfinished } from '../../src/aaa/service/dynamic-authorization-queue.ts';
import { dialects } from '../support/databases.ts';
import { merchantSetup, shopper, type MerchantSetup } from '../support/merchant-harness.ts';
import { PortalClient } from '../support/portal-client.ts';
import { futureExpiry, testCardNumber } from '../support/test-cards.ts';

// Statements the gateway runs on every request or on a timer must not read a table that
// grows with traffic. Some did (migrations 0020-0023): the dynamic-authorization sender's
// poll each second (its only index partial, which SQLite cannot prove from its OR), the
// certification sweep's purge of idempotency keys every 5 s, the stale-session sweep and
// Accounting-On/Off (`status != 'closed'`, every session ever), a subscriber's purchases
// and exchanges in the portal, a merchant's list of authorizations, and the operator's newest
// call detail records (0023, every exchange writes one). This asks the
// database for the plan of every statement those run, with the values they ran with:
// - SQLite re-plans with bound values, as it runs them (so a subscriber's active card is
//   found through the partial index on active cards);
// - PostgreSQL, with sequential scans priced out (`enable_seqscan = off`): on a test's few
//   rows the planner would rightly read a table whole, so what matters is whether an
//   index could serve the statement at all; a Seq Scan left, or an index walked with no
//   condition on it, means none could.
// What a plan cannot show: a search whose condition selects too wide a part of an index
// (a merchant's whole history, to keep those of one status), and PostgreSQL's generic plan
// for a named statement (explained here with its values). Those are read by hand.

/** Tables a provider configures by hand: a few rows whatever the traffic, so read whole. */
const SMALL_TABLES = new Set(['pools', 'nas_clients', 'vault_master_keys', 'job_leases', 'merchant_networks', 'deterministic_nat']);

interface Ran { text: string; values: unknown[]; db?: Database.Database }
const ran = new Map<string, Ran>();
let recording = false;
const record = (r: Ran) => {
  if (recording && !ran.has(r.text)) ran.set(r.text, r);
};

// Every SQLite statement prepared from now on is watched while `recording`.
const prepare = Database.prototype.prepare;
Database.prototype.prepare = function (this: Database.Database, text: string) {
  const statement = prepare.call(this, text);
  for (const method of ['run', 'get', 'all', 'iterate'] as const) {
    const original = statement[method] as (...a: unknown[]) => unknown;
    (statement as unknown as Record<string, unknown>)[method] = function (this: unknown, ...values: unknown[]) {
      record({ text, values, db: (statement as unknown as { database: Database.Database }).database });
      return original.apply(this, values);
    };
  }
  return statement;
} as typeof Database.prototype.prepare;

// And every PostgreSQL query, as text or as the named statement open-store.ts makes of it.
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const [first, second] = args as [unknown, unknown];
  const config = typeof first === 'string' ? { text: first, values: second } : (first as { text?: unknown; values?: unknown } | undefined);
  if (typeof config?.text === 'string' && /^\s*(select|insert|update|delete|with)\b/i.test(config.text)) record({ text: config.text, values: Array.isArray(config.values) ? config.values : [] });
  return (query as (...a: unknown[]) => unknown).apply(this, args);
} as typeof pg.Client.prototype.query;

/** Table names in plan steps that read a whole table that grows with traffic. */
function growingScans(tables: Iterable<string>): string[] {
  return [...tables].filter((t) => !SMALL_TABLES.has(t));
}

/** Partial indexes over what is live now (open sessions), not over history: reading one whole is bounded. */
const LIVE_INDEXES = new Set(['sessions_open']);

/**
 * The newest N of one table (`order by … limit N`, nothing filtered or joined): an index walked in its
 * order stops after N entries, so that walk is bounded (SQLite: no temporary B-tree sorts
 * the rows; PostgreSQL: the Limit sits right on the index scan, which filters nothing).
 */
const newestOnly = (text: string): boolean => /\border by\b[^]*\blimit\b/i.test(text) && !/\b(where|join)\b/i.test(text);

function sqlitePlanScans({ text, values, db }: Ran): string[] {
  const explain = prepare.call(db!, `explain query plan ${text}`) as unknown as { all(...v: unknown[]): Array<{ detail: string }> };
  const steps = explain.all(...values);
  const ordered = newestOnly(text) && !steps.some(({ detail }) => detail.includes('TEMP B-TREE FOR ORDER BY'));
  return growingScans(steps.flatMap(({ detail }) => {
    // A scan through an index reads the whole index: as bad as the table, unless the index
    // is a live one or the walk stops at the LIMIT.
    const scan = /^SCAN (\w+)(?: USING (?:COVERING )?INDEX (\w+))?/.exec(detail);
    return scan === null || detail.includes('VALUES CLAUSE') || LIVE_INDEXES.has(scan[2] ?? '') || (ordered && scan[2] !== undefined) ? [] : [scan[1]!];
  }));
}

interface PlanNode { 'Node Type': string; 'Relation Name'?: string; 'Index Name'?: string; 'Index Cond'?: string; Filter?: string; Plans?: PlanNode[] }

async function postgresPlanScans(client: pg.Client, { text, values }: Ran, partial: Set<string>): Promise<string[]> {
  const plan = await (query as (...a: unknown[]) => Promise<pg.QueryResult<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>>).call(client, `explain (format json) ${text}`, values);
  const scans: string[] = [];
  const walk = (n: PlanNode, limited = false): void => {
    const table = n['Relation Name'];
    // A sequential scan, or an index walked whole (no condition on it), reads the table;
    // a partial index's rows are bounded by its WHERE (the planner walks a small one whole),
    // and a walk that filters nothing stops at the Limit right above it.
    const index = n['Node Type'].includes('Index');
    const bounded = partial.has(n['Index Name'] ?? '') || (limited && n.Filter === undefined && newestOnly(text));
    const whole = n['Node Type'] === 'Seq Scan' || (index && n['Index Cond'] === undefined && !bounded);
    if (table !== undefined && whole) scans.push(table);
    n.Plans?.forEach((child) => walk(child, n['Node Type'] === 'Limit'));
  };
  plan.rows.forEach((r) => walk(r['QUERY PLAN'][0]!.Plan));
  return growingScans(scans);
}

for (const dialect of dialects) {
  describe(`statements on request paths and timers search by index on ${dialect}`, () => {
    let m: MerchantSetup;
    before(async () => {
      m = await merchantSetup(dialect, `search-by-index-${dialect}`);
    });
    after(async () => m?.dispose());

    it('a card purchase, its capture and refund, the lists of purchases, the polls and sweeps, and an Accounting-On read no table whole', async () => {
      // Other subscribers' cards: a scan would have rows to read.
      for (let i = 0; i < 5; i++) await shopper(m, `search-by-index-other-${i}`, { card: { number: testCardNumber(60 + i), expiry: futureExpiry() } });
      const { address } = await shopper(m, 'search-by-index-buyer', { card: { number: testCardNumber(70), expiry: futureExpiry() } });
      ran.clear();
      recording = true;
      try {
        const a = await m.client.authorizations.create({ customer: { address }, amount: 700, currency: 'EUR', settlement: 'card' });
        assert.equal(a.status, 'approved');
        await m.client.authorizations.capture(a.id, {});
        await m.client.authorizations.refund(a.id, { amount: 100 });
        const now = Date.now();
        await claimUnfinished(m.t.gateway.context.store.db, 'search-by-index', now, now - 60_000);
        await m.t.gateway.certification.sweep();
        await m.client.authorizations.list({ limit: 10 });
        await m.client.authorizations.list({ limit: 10, status: 'captured' });
        const portal = new PortalClient(`http://${m.t.gateway.listen.portalHttp}`);
        assert.equal(await portal.signIn('search-by-index-buyer', 'search-by-index-buyer-password'), 303);
        for (const page of ['/purchases', '/channel']) assert.equal((await portal.get(page)).status, 200, page);
        const calls = await fetch(`http://${m.t.gateway.listen.operatorHttp}/v1/channel/calls`, { headers: { authorization: `Bearer ${m.t.token}` } });
        assert.equal(calls.status, 200, 'the operator\'s call detail records');
        const sessions = m.t.gateway.authentication.sessions;
        // Nothing to close: the shoppers' sessions are a minute old, and began after time 0.
        assert.equal(await sessions.sweep(3_600_000, now), 0);
        assert.equal(await sessions.closeAllOf(m.nasId, 'search-by-index', 0), 0);
      } finally {
        recording = false;
      }
      const statements = [...ran.values()];
      assert.ok(statements.some((s) => /from "?cards"? where/.test(s.text)), 'the card lookup ran');
      assert.ok(statements.some((s) => /from "dynamic_authorizations"/.test(s.text)), 'the poll ran');
      assert.ok(statements.some((s) => /delete from "idempotency_keys" where "created_at"/.test(s.text)), 'the sweep ran');
      assert.ok(statements.some((s) => /from "sessions" where "status" != .* and "last_seen_at" </.test(s.text)), 'the session sweep ran');
      assert.ok(statements.some((s) => /from "channel_exchanges"/.test(s.text)), 'the exchanges page ran');
      assert.ok(statements.some((s) => /from "call_records"/.test(s.text)), 'the call records page ran');
      const scans: Array<{ scans: string[]; text: string }> = [];
      const client = dialect === 'postgres' ? new pg.Client({ connectionString: m.t.database.databaseUrl }) : undefined;
      await client?.connect();
      try {
        await client?.query('set enable_seqscan = off');
        const partial = new Set((await client?.query<{ indexname: string }>(`select indexname from pg_indexes where indexdef like '% WHERE %'`))?.rows.map((r) => r.indexname));
        for (const s of statements) {
          const found = client ? await postgresPlanScans(client, s, partial) : sqlitePlanScans(s);
          if (found.length > 0) scans.push({ scans: found, text: s.text.replace(/\s+/g, ' ').slice(0, 160) });
        }
      } finally {
        await client?.end();
      }
      assert.deepEqual(scans, []);
    });
  });
}
