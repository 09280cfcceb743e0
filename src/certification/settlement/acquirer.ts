/**
 * The only path by which a card number leaves the vault toward a payment network: the
 * settlement code opens the sealed record (audited) and hands it to an Acquirer, which
 * returns a reference; captures and refunds then go by reference, without the card.
 */
export interface CardForAcquirer {
  number: string;
  expiry: string;
  holderName: string;
}

export type AcquirerResult = { approved: true; reference: string } | { approved: false; declineCode: 'card_declined' | 'insufficient_funds' | 'expired_card' };

export interface Acquirer {
  readonly name: string;
  authorize(card: CardForAcquirer, amount: number, currency: string, merchantId: string): Promise<AcquirerResult>;
  capture(reference: string, amount: number, currency: string): Promise<void>;
  refund(reference: string, amount: number, currency: string): Promise<void>;
  void(reference: string): Promise<void>;
}
