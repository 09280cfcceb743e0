import { createHash } from 'node:crypto';
import type { Acquirer, AcquirerResult, CardForAcquirer } from './acquirer.ts';

/** One effect at the acquirer: what a card network would have done once per idempotency key. */
export interface SimulatedEffect {
  op: 'authorize' | 'capture' | 'refund' | 'void';
  idempotencyKey: string;
  reference: string;
  amount: number | null;
  approved?: boolean;
}

/**
 * The development acquirer. It keeps nothing of the card, and decides by documented test
 * numbers and amounts (docs/merchant-api.md):
 * - a card number ending in 0002 is declined (card_declined);
 * - a card number ending in 9995, or an amount ending in 51 minor units, has insufficient funds;
 * - anything else is approved.
 * Its decision and reference depend only on the input and the idempotency key, so a
 * repeated key gets the same answer even after the gateway restarted; `effects` holds
 * each operation once, `calls` every call (repeats included).
 */
export class SimulatedAcquirer implements Acquirer {
  readonly name = 'simulated';
  readonly calls: Array<{ op: string; idempotencyKey: string; reference?: string; amount?: number }> = [];
  readonly effects = new Map<string, SimulatedEffect>();

  private once(effect: SimulatedEffect): SimulatedEffect {
    const seen = this.effects.get(effect.idempotencyKey);
    if (seen) return seen;
    this.effects.set(effect.idempotencyKey, effect);
    return effect;
  }

  async authorize(card: CardForAcquirer, amount: number, _currency: string, _merchantId: string, idempotencyKey: string): Promise<AcquirerResult> {
    this.calls.push({ op: 'authorize', idempotencyKey, amount });
    const reference = `sim_${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 16)}`;
    const declineCode = card.number.endsWith('0002') ? 'card_declined' : card.number.endsWith('9995') || amount % 100 === 51 ? 'insufficient_funds' : null;
    const effect = this.once({ op: 'authorize', idempotencyKey, reference, amount, approved: declineCode === null });
    return effect.approved ? { approved: true, reference: effect.reference } : { approved: false, declineCode: declineCode ?? 'card_declined' };
  }

  async capture(reference: string, amount: number, _currency: string, idempotencyKey: string): Promise<void> {
    this.calls.push({ op: 'capture', idempotencyKey, reference, amount });
    this.once({ op: 'capture', idempotencyKey, reference, amount });
  }

  async refund(reference: string, amount: number, _currency: string, idempotencyKey: string): Promise<void> {
    this.calls.push({ op: 'refund', idempotencyKey, reference, amount });
    this.once({ op: 'refund', idempotencyKey, reference, amount });
  }

  async void(reference: string, idempotencyKey: string): Promise<void> {
    this.calls.push({ op: 'void', idempotencyKey, reference });
    this.once({ op: 'void', idempotencyKey, reference, amount: null });
  }
}
