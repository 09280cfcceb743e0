import type { Store } from '../store/open-store.ts';
import { toIso } from '../core/time/to-iso.ts';

export interface StatementLine {
  at: string;
  merchant: string;
  authorization: string;
  description: string | null;
  amount: number;
}

/** provider_bill: the lines on a subscriber's bill for a period, as the operator API and the portal show them. */
export async function subscriberStatement(store: Store, subscriberId: string, from: number, to: number): Promise<{ total: number; lines: StatementLine[] }> {
  const lines = await store.db.selectFrom('ledger_entries').innerJoin('authorizations', 'authorizations.id', 'ledger_entries.authorization_id').innerJoin('merchants', 'merchants.id', 'authorizations.merchant_id')
    .select(['ledger_entries.amount', 'ledger_entries.currency', 'ledger_entries.at', 'authorizations.id as authorization', 'authorizations.description', 'merchants.name as merchant'])
    .where('ledger_entries.account', '=', `subscriber:${subscriberId}:bill`).where('ledger_entries.at', '>=', from).where('ledger_entries.at', '<', to).orderBy('ledger_entries.at').execute();
  const total = lines.reduce((s, l) => s + l.amount, 0);
  return { total, lines: lines.map((l) => ({ at: toIso(l.at)!, merchant: l.merchant, authorization: l.authorization, description: l.description, amount: l.amount })) };
}
