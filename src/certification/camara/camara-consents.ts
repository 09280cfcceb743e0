import { SidebandError } from '../../errors/sideband-error.ts';
import { appendAudit } from '../../store/audit-log.ts';
import type { Db, Store, Tx } from '../../store/open-store.ts';

export interface CamaraConsentView {
  merchantId: string;
  merchant: string;
  consent: boolean;
}

/**
 * The subscriber's consent, per merchant, that a CAMARA payment identified by their
 * network address alone tells that merchant their phone number (CAMARA's `Payment`
 * requires it). Off unless given; given or withdrawn in the portal's Settings or by the
 * operator (`sideband subscriber camara-consent`), each change audited. docs/camara.md.
 */
export class CamaraConsents {
  constructor(private readonly store: Store, private readonly actor: string) {}

  /** Whether `subscriberId` lets `merchantId` learn their number. */
  static async given(db: Db | Tx, subscriberId: string, merchantId: string): Promise<boolean> {
    return (await db.selectFrom('camara_consents').select('given_at').where('subscriber_id', '=', subscriberId).where('merchant_id', '=', merchantId).executeTakeFirst()) !== undefined;
  }

  /** Every certified merchant with the subscriber's answer for it. */
  async list(subscriberId: string): Promise<CamaraConsentView[]> {
    const merchants = await this.store.db.selectFrom('merchants').select(['id', 'name']).where('status', '=', 'certified').orderBy('name').execute();
    const given = new Set((await this.store.db.selectFrom('camara_consents').select('merchant_id').where('subscriber_id', '=', subscriberId).execute()).map((r) => r.merchant_id));
    return merchants.map((m) => ({ merchantId: m.id, merchant: m.name, consent: given.has(m.id) }));
  }

  /** Gives (`on`) or withdraws consent; `subscriber` is a login or id. Withdrawing never changes what a merchant was already told. */
  async set(subscriber: string, merchantId: string, on: boolean, now = Date.now()): Promise<{ subscriberId: string; merchantId: string; consent: boolean }> {
    const sub = await this.store.db.selectFrom('subscribers').select('id').where((eb) => eb.or([eb('login', '=', subscriber), eb('id', '=', subscriber)])).executeTakeFirst();
    if (!sub) throw new SidebandError('SUBSCRIBER_NOT_FOUND', `No subscriber ${subscriber}.`, { param: 'login' });
    const merchant = await this.store.db.selectFrom('merchants').select('id').where('id', '=', merchantId).executeTakeFirst();
    if (!merchant) throw new SidebandError('MERCHANT_NOT_FOUND', `No merchant ${merchantId}.`, { param: 'merchant' });
    await this.store.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('camara_consents').where('subscriber_id', '=', sub.id).where('merchant_id', '=', merchant.id).execute();
      if (on) await tx.insertInto('camara_consents').values({ subscriber_id: sub.id, merchant_id: merchant.id, given_at: now }).execute();
      await appendAudit(tx, { actor: this.actor, action: on ? 'subscriber.camara-consent.give' : 'subscriber.camara-consent.withdraw', subjectType: 'subscriber', subjectId: sub.id, detail: { merchantId: merchant.id } }, now);
    });
    return { subscriberId: sub.id, merchantId: merchant.id, consent: on };
  }
}
