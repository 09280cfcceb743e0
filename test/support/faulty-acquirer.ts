import { SimulatedAcquirer } from '../../src/certification/settlement/simulated-acquirer.ts';
import type { AcquirerResult, CardForAcquirer } from '../../src/certification/settlement/acquirer.ts';

export type AcquirerOperation = 'authorize' | 'capture' | 'refund' | 'void';

/**
 * How the next call of an operation fails: `before` never reaches the acquirer (a refused
 * connection); `after` takes effect there and loses the reply (a timeout after the fact).
 */
export type AcquirerFault = 'before' | 'after';

/**
 * The simulated acquirer with faults on demand, for tests that attack the money paths:
 * every fault leaves the outcome unknown to Sideband, which must ask again with the same
 * idempotency key and never make a second effect.
 */
export class FaultyAcquirer extends SimulatedAcquirer {
  private readonly faults: Array<{ op: AcquirerOperation; fault: AcquirerFault }> = [];
  /** Every operation fails this way while set (an acquirer that is down). */
  down: AcquirerFault | null = null;
  faultsRaised = 0;

  failNext(op: AcquirerOperation, fault: AcquirerFault, times = 1): void {
    for (let i = 0; i < times; i++) this.faults.push({ op, fault });
  }

  /** Forgets faults queued for calls that never came. */
  clearFaults(): void {
    this.faults.length = 0;
  }

  private async faulty<T>(op: AcquirerOperation, work: () => Promise<T>): Promise<T> {
    const i = this.faults.findIndex((f) => f.op === op);
    const fault = i >= 0 ? this.faults.splice(i, 1)[0]!.fault : this.down;
    if (fault === null) return work();
    this.faultsRaised++;
    if (fault === 'after') await work();
    throw new Error(`simulated acquirer fault (${op}, ${fault} the effect)`);
  }

  override authorize(card: CardForAcquirer, amount: number, currency: string, merchantId: string, key: string): Promise<AcquirerResult> {
    return this.faulty('authorize', () => super.authorize(card, amount, currency, merchantId, key));
  }

  override capture(reference: string, amount: number, currency: string, key: string): Promise<void> {
    return this.faulty('capture', () => super.capture(reference, amount, currency, key));
  }

  override refund(reference: string, amount: number, currency: string, key: string): Promise<void> {
    return this.faulty('refund', () => super.refund(reference, amount, currency, key));
  }

  override void(reference: string, key: string): Promise<void> {
    return this.faulty('void', () => super.void(reference, key));
  }

  /** Effects of one kind, at most one per idempotency key by construction. */
  effectsOf(op: AcquirerOperation) {
    return [...this.effects.values()].filter((e) => e.op === op);
  }
}
