/**
 * An endpoint's pool of numbers (the seed's modem pool). A number is reserved for one
 * exchange with a time-to-live and returned when the exchange ends or the reservation
 * lapses. A call to a number is associated with its exchange by the dialed number (DNIS).
 */
export interface Reservation {
  number: string;
  exchangeId: string;
  token: string;
  expiresAt: number;
}

export class NumberPool {
  private free: string[];
  private reserved = new Map<string, Reservation>();

  constructor(numbers: readonly string[]) {
    this.free = [...numbers];
  }

  get available(): number {
    this.lapse(Date.now());
    return this.free.length;
  }

  /** Reserves a number, or returns null when every number is in use (pool exhausted). */
  reserve(exchangeId: string, token: string, ttlMs: number, now = Date.now()): Reservation | null {
    this.lapse(now);
    const number = this.free.shift();
    if (number === undefined) return null;
    const r = { number, exchangeId, token, expiresAt: now + ttlMs };
    this.reserved.set(number, r);
    return r;
  }

  /** The live reservation of a dialed number, or undefined (never reserved, or expired). */
  lookup(number: string, now = Date.now()): Reservation | undefined {
    this.lapse(now);
    return this.reserved.get(number);
  }

  /** Keeps a number through a call that outlives the reservation's time-to-live. */
  hold(number: string): void {
    const r = this.reserved.get(number);
    if (r) r.expiresAt = Number.MAX_SAFE_INTEGER;
  }

  release(number: string): void {
    if (this.reserved.delete(number)) this.free.push(number);
  }

  private lapse(now: number): void {
    for (const [number, r] of this.reserved) {
      if (r.expiresAt <= now) this.release(number);
    }
  }
}
