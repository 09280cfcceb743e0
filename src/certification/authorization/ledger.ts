import { newId } from '../../core/identity/ids.ts';
import type { Tx } from '../../store/open-store.ts';
import { PreparedInsert, allColumns, dialectOf } from '../../store/prepared-statement.ts';
import type { LedgerEntryTable } from '../../store/schema.ts';

export const LEDGER_COLUMNS = allColumns<LedgerEntryTable>({ id: true, transaction_id: true, account: true, amount: true, currency: true, authorization_id: true, at: true });
const insertEntries = new PreparedInsert<LedgerEntryTable>('ledger_entries', LEDGER_COLUMNS);

/**
 * Accounts of the double-entry ledger. Holds are memo accounts: an approval moves the
 * amount from the subscriber's available spending into held; a capture releases the hold
 * and moves money by settlement.
 */
export const account = {
  available: (subscriberId: string) => `subscriber:${subscriberId}:available`,
  held: (subscriberId: string) => `subscriber:${subscriberId}:held`,
  /** card: the acquirer owes the provider's clearing account. */
  cardClearing: () => 'acquirer:clearing',
  /** provider_bill: the subscriber owes the provider, on their bill. */
  subscriberBill: (subscriberId: string) => `subscriber:${subscriberId}:bill`,
  /** merchant_bill: the merchant bills the subscriber itself; recorded, not collected. */
  merchantBilled: (merchantId: string) => `merchant:${merchantId}:billed-directly`,
  /** What the provider owes the merchant (card and provider_bill). */
  merchantPayable: (merchantId: string) => `merchant:${merchantId}:payable`,
  merchantRevenue: (merchantId: string) => `merchant:${merchantId}:revenue`,
};

export interface Posting {
  account: string;
  /** Debit positive, credit negative. */
  amount: number;
}

/** The entries of one balanced transaction, `transactionId`; refuses postings that do not sum to zero. */
export function ledgerEntries(transactionId: string, postings: readonly Posting[], currency: string, authorizationId: string, at: number): LedgerEntryTable[] {
  const sum = postings.reduce((s, p) => s + p.amount, 0);
  if (sum !== 0) throw new Error(`unbalanced ledger transaction (sum ${sum})`);
  return postings.filter((p) => p.amount !== 0).map((p) => ({ id: newId('led', at), transaction_id: transactionId, account: p.account, amount: p.amount, currency, authorization_id: authorizationId, at }));
}

/** Writes one balanced transaction (ledgerEntries); returns its id. */
export async function post(tx: Tx, postings: Posting[], currency: string, authorizationId: string, at: number): Promise<string> {
  const transactionId = newId('txn', at);
  const rows = ledgerEntries(transactionId, postings, currency, authorizationId, at);
  if (rows.length > 0) await insertEntries.runRows(tx, dialectOf(tx), rows);
  return transactionId;
}

/** The postings that move `amount` from one account to another. */
export const move = (amount: number, from: string, to: string): Posting[] => [
  { account: to, amount },
  { account: from, amount: -amount },
];
