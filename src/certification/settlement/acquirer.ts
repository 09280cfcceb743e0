/**
 * The only path by which a card number leaves the vault toward a payment network: the
 * settlement code opens the sealed record (audited) and hands it to an Acquirer, which
 * returns a reference; captures, refunds and voids then go by reference, without the card.
 *
 * Every call carries an idempotency key of Sideband's making (the authorization id for
 * authorize, the outbox instruction id for the others). An acquirer must treat a repeated
 * key as the same operation and answer as it did the first time: that is what lets a
 * step interrupted by a crash or a lost reply be run again without a second charge.
 * A call that throws has an unknown outcome; it is retried with the same key.
 */
export interface CardForAcquirer {
  number: string;
  expiry: string;
  holderName: string;
}

export type AcquirerResult = { approved: true; reference: string } | { approved: false; declineCode: 'card_declined' | 'insufficient_funds' | 'expired_card' };

export interface Acquirer {
  readonly name: string;
  authorize(card: CardForAcquirer, amount: number, currency: string, merchantId: string, idempotencyKey: string): Promise<AcquirerResult>;
  capture(reference: string, amount: number, currency: string, idempotencyKey: string): Promise<void>;
  refund(reference: string, amount: number, currency: string, idempotencyKey: string): Promise<void>;
  void(reference: string, idempotencyKey: string): Promise<void>;
}
