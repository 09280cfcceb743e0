import { newId } from '../../core/identity/ids.ts';
import type { Db, Tx } from '../../store/open-store.ts';
import { PreparedStatement, allColumns } from '../../store/prepared-statement.ts';
import type { LedgerEntryTable } from '../../store/schema.ts';
import { LEDGER_COLUMNS, ledgerEntries, type Posting } from './ledger.ts';
import { DELIVERY_COLUMNS, merchantView, webhookPayload, type AuthorizationRow, type EventType } from './authorization-record.ts';

/**
 * The spending hold: one conditional UPDATE is its own check, so concurrent purchases can
 * never together pass the limit; it returns what the spending rule needs, saving a read.
 * Parameters: amount, now, subscriber id, amount.
 */
export const RESERVE_SPENDING = `update subscribers set amount_used = amount_used + ?, updated_at = ?
   where id = ? and status = 'active' and amount_used + ? <= spending_limit
   returning amount_used, spending_limit, spent_session_seconds`;

export type SpendingState = { amount_used: number; spending_limit: number; spent_session_seconds: number | null };

export const AUTHORIZATION_COLUMNS = allColumns<AuthorizationRow>({
  id: true, merchant_id: true, subscriber_id: true, session_id: true, card_id: true, customer_address: true, customer_port: true, observed_at: true, amount: true, currency: true,
  captured_amount: true, refunded_amount: true, status: true, reason: true, capture_mode: true, settlement: true, description: true, merchant_reference: true,
  customer_pseudonym: true, acquirer_reference: true, billing_details: true, idempotency_key: true, expires_at: true, created_at: true, updated_at: true,
});

const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

/** What the decision's statement read and wrote; the spending columns are null when the hold was refused. */
type Decided = { [K in keyof SpendingState]: SpendingState[K] | null } & { claim_held: number; rule_applies: boolean };

/**
 * The decision's transaction as one data-modifying WITH (PostgreSQL only): the merchant's
 * key, locked while this request still holds it; the spending hold, taken only then; and —
 * only when the hold was taken, since each insert selects from the one before it — the
 * authorization, the two ledger entries of its hold, its event, the webhook delivery when
 * the merchant has a URL, and the answer stored under the key. A statement is atomic, so
 * it needs no BEGIN and COMMIT of its own: one round trip where there were seven.
 *
 * Without an Idempotency-Key (key parameters null) the hold does not wait on one. The hold
 * is RESERVE_SPENDING's, with that condition added.
 *
 * Committing on its own (`inTransaction` false), the statement has nowhere to write the
 * Disconnect- or CoA-Requests of the subscriber's spending rule (queueSpendingRule), so it
 * refuses a hold that would spend the rest under a rule: one the operator set after the
 * holder was read. `subscriber` locks the subscriber's row first and reads its newest
 * version (the snapshot's may be older), so that such a refusal is told from the limit's
 * (`ruleApplies`) and the caller decides again in a transaction, which writes the hold
 * and the requests together or neither.
 */
const decideInOneStatement = new PreparedStatement<Decided>(
  `with claim_held as (
     select 1 from idempotency_keys where merchant_id = ? and key = ? and owner = ? and status = 'in_progress' for update
   ), subscriber as (
     select amount_used, spending_limit, spent_session_seconds from subscribers where id = ? and (?::text is null or exists (select 1 from claim_held)) for update
   ), spending as (
     update subscribers set amount_used = amount_used + ?, updated_at = ?
     where id = ? and status = 'active' and amount_used + ? <= spending_limit and exists (select 1 from subscriber)
       and (?::boolean or spent_session_seconds is null or amount_used + ? < spending_limit)
     returning amount_used, spending_limit, spent_session_seconds
   ), recorded as (
     insert into authorizations (${AUTHORIZATION_COLUMNS.join(', ')}) select ${placeholders(AUTHORIZATION_COLUMNS.length)} from spending returning id
   ), first_entry as (
     insert into ledger_entries (${LEDGER_COLUMNS.join(', ')}) select ${placeholders(LEDGER_COLUMNS.length)} from recorded
   ), second_entry as (
     insert into ledger_entries (${LEDGER_COLUMNS.join(', ')}) select ${placeholders(LEDGER_COLUMNS.length)} from recorded
   ), event as (
     insert into authorization_events (id, authorization_id, type, amount, detail, at) select ?, ?, ?, ?, ?, ? from recorded
   ), merchant as (
     select webhook_url from merchants where id = ?
   ), delivery as (
     insert into webhook_deliveries (${DELIVERY_COLUMNS.join(', ')})
     select ?, ?, ?, ?, m.webhook_url, ?, 'pending', 0, ?, null, null, ?, null, 'sideband', null, null from merchant m, recorded where m.webhook_url is not null
   ), answer as (
     update idempotency_keys set status = 'done', response_status = 201, response_body = ?, locked_until = 0
     where merchant_id = ? and key = ? and owner = ? and status = 'in_progress' and exists (select 1 from recorded)
   )
   select (select count(*) from claim_held)::int as claim_held, s.amount_used, s.spending_limit, s.spent_session_seconds,
     coalesce((select b.spent_session_seconds is not null and b.amount_used + ?::bigint >= b.spending_limit from subscriber b), false) as rule_applies
   from (select 1) as decision left join spending s on true`,
);

export interface OneStatementDecision {
  row: AuthorizationRow;
  /** The hold's two postings (ledger.ts `move`). */
  postings: readonly [Posting, Posting];
  webhook: EventType;
  detail: Record<string, unknown>;
  claim: { merchantId: string; key: string; owner: string } | null;
  /** Run inside a transaction that queues the spending rule's requests; false when the statement commits on its own. */
  inTransaction: boolean;
}

/**
 * Runs the decision's statement, on its own (it is then its own transaction) or in `tx`.
 * `lost`: the merchant's key changed hands (a retry took it over) and nothing was written;
 * `refused`: the spending hold was refused and nothing was written; `rule`: committing on
 * its own, it met a spending rule this hold would set off, and nothing was written (decide
 * again in a transaction); otherwise what the hold left, for the spending rule.
 */
export async function decideInOne(db: Db | Tx, d: OneStatementDecision): Promise<'lost' | 'refused' | 'rule' | SpendingState> {
  const { row, postings, webhook, claim } = d;
  const at = row.created_at;
  const eventId = newId('evt', at);
  const [first, second] = ledgerEntries(newId('txn', at), postings, row.currency, row.id, at);
  if (!first || !second) throw new Error('a hold is two ledger entries');
  const entry = (e: LedgerEntryTable) => LEDGER_COLUMNS.map((c) => e[c]);
  const decided = await decideInOneStatement.first(db, 'postgres', [
    claim?.merchantId ?? null, claim?.key ?? null, claim?.owner ?? null,
    row.subscriber_id, claim?.key ?? null,
    row.amount, at, row.subscriber_id, row.amount, d.inTransaction, row.amount,
    ...AUTHORIZATION_COLUMNS.map((c) => row[c] ?? null),
    ...entry(first),
    ...entry(second),
    eventId, row.id, row.status, row.amount, JSON.stringify(d.detail), at,
    row.merchant_id,
    newId('whk', at), row.merchant_id, eventId, webhook, webhookPayload(eventId, webhook, at, row), at, at,
    JSON.stringify(merchantView(row)), claim?.merchantId ?? null, claim?.key ?? null, claim?.owner ?? null,
    row.amount,
  ]);
  if (claim && decided?.claim_held !== 1) return 'lost';
  // A key this statement locked takes the answer whenever the authorization was recorded.
  if (!decided || decided.amount_used === null || decided.spending_limit === null) return !d.inTransaction && decided?.rule_applies ? 'rule' : 'refused';
  return { amount_used: decided.amount_used, spending_limit: decided.spending_limit, spent_session_seconds: decided.spent_session_seconds };
}
