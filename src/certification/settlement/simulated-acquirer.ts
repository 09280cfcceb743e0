import { randomBytes } from 'node:crypto';
import type { Acquirer, AcquirerResult, CardForAcquirer } from './acquirer.ts';

/**
 * The development acquirer. It keeps nothing of the card, and decides by documented test
 * numbers and amounts (docs/merchant-api.md):
 * - a card number ending in 0002 is declined (card_declined);
 * - a card number ending in 9995, or an amount ending in 51 minor units, has insufficient funds;
 * - anything else is approved.
 */
export class SimulatedAcquirer implements Acquirer {
  readonly name = 'simulated';
  readonly calls: Array<{ op: string; reference?: string; amount?: number }> = [];

  async authorize(card: CardForAcquirer, amount: number): Promise<AcquirerResult> {
    this.calls.push({ op: 'authorize', amount });
    if (card.number.endsWith('0002')) return { approved: false, declineCode: 'card_declined' };
    if (card.number.endsWith('9995') || amount % 100 === 51) return { approved: false, declineCode: 'insufficient_funds' };
    return { approved: true, reference: `sim_${randomBytes(8).toString('hex')}` };
  }

  async capture(reference: string, amount: number): Promise<void> {
    this.calls.push({ op: 'capture', reference, amount });
  }

  async refund(reference: string, amount: number): Promise<void> {
    this.calls.push({ op: 'refund', reference, amount });
  }

  async void(reference: string): Promise<void> {
    this.calls.push({ op: 'void', reference });
  }
}
