/** What admission decided for an authenticated new request; the shed ones are drop causes. */
export type AdmissionDecision = 'within-rate' | 'over-rate' | 'shed-over-rate' | 'shed-overloaded';

export interface AdmissionLimits {
  /** Token-bucket refill per NAS, requests per second. */
  requestsPerSecondPerNas: number;
  /** Token-bucket depth per NAS: how many requests a NAS may send at once within its rate. */
  burstPerNas: number;
  /** Admitted requests in progress (awaiting the store) beyond which nothing new is admitted. */
  maxPendingRequests: number;
}

/**
 * The overload policy of RFC 5080 §2.2 practice: invalid traffic never reaches here (it is
 * dropped before, and charges no NAS's budget); what does is charged to its NAS's token
 * bucket. A NAS within its rate is admitted while the process has room; a NAS over its
 * rate is still served while the process is idle enough — half the pending capacity is
 * kept for NASes within their rate — and shed first once it is not. A flood from one NAS
 * therefore costs the others nothing but the cheap work of dropping it.
 *
 * Bounded: one bucket per registered NAS that sent (callers key by NAS id).
 */
export class RequestAdmission {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private inFlight = 0;

  constructor(private readonly limits: AdmissionLimits) {}

  get pending(): number {
    return this.inFlight;
  }

  /** Decides for one request; an admitted one (`within-rate`, `over-rate`) must be {@link done} once answered or dropped. */
  admit(nasId: string, now = performance.now()): AdmissionDecision {
    const { requestsPerSecondPerNas: rate, burstPerNas: burst, maxPendingRequests: max } = this.limits;
    let bucket = this.buckets.get(nasId);
    if (!bucket) {
      bucket = { tokens: burst, at: now };
      this.buckets.set(nasId, bucket);
    }
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * rate);
    bucket.at = now;
    const withinRate = bucket.tokens >= 1;
    if (withinRate) {
      if (this.inFlight >= max) return 'shed-overloaded';
      bucket.tokens -= 1;
      this.inFlight += 1;
      return 'within-rate';
    }
    if (this.inFlight >= max / 2) return 'shed-over-rate';
    this.inFlight += 1;
    return 'over-rate';
  }

  done(): void {
    this.inFlight -= 1;
  }
}
