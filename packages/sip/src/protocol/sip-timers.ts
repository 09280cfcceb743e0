/**
 * RFC 3261 §17.1.1.1 and Table 4: T1 is the round-trip estimate (500 ms), T2 the longest
 * retransmission interval for non-INVITE requests and INVITE responses (4 s), T4 how long
 * a message may stay in the network (5 s). Every other timer derives from these.
 */
export interface SipTimers {
  readonly T1: number;
  readonly T2: number;
  readonly T4: number;
}

export const defaultSipTimers: SipTimers = { T1: 500, T2: 4000, T4: 5000 };
