import { ConnectionAdmission } from './connection-admission.ts';
import { defaultSourceLimits, sourceLimitsProblem, type SourceLimits } from './source-limits.ts';
import { SourceRateLimiter } from './source-rate-limiter.ts';

// How long an address stays a line's after a line last authenticated from it: the longest registration.
const LINE_SOURCE_MS = 3600_000;
const MAX_LINE_SOURCES = 65_536;

/**
 * The per-source limits one element applies to all its transports: a message-rate bucket
 * per address (shared by UDP and TCP, so a source cannot double its share by using both),
 * a larger one for addresses lines have authenticated from, and TCP admission. Give the
 * same guard to the element's UdpTransport and TcpTransport; tell it through
 * `TransactionLayer.authenticated` when a line proves its password.
 *
 * @example
 * const guard = new SourceGuard({ maxConnectionsPerSource: 16 });
 * const udp = await UdpTransport.listen(host, 5060, layer, undefined, guard);
 * const tcp = await TcpTransport.listen(host, 5060, layer, { guard });
 */
export class SourceGuard {
  readonly limits: SourceLimits;
  readonly connections: ConnectionAdmission;
  readonly #rate: SourceRateLimiter;
  readonly #lineRate: SourceRateLimiter;
  /** Addresses a line authenticated from, and until when they count as the line's; oldest first. */
  readonly #lineSources = new Map<string, number>();
  readonly #now: () => number;

  /** Throws a RangeError naming the limit when one is not a whole number in its range. */
  constructor(limits: Partial<SourceLimits> = {}, now: () => number = Date.now) {
    const resolved: SourceLimits = Object.freeze({ ...defaultSourceLimits, ...limits });
    const problem = sourceLimitsProblem(resolved);
    if (problem) throw new RangeError(`${problem.name} ${problem.message}`);
    this.limits = resolved;
    this.connections = new ConnectionAdmission(resolved);
    this.#rate = new SourceRateLimiter(resolved.messagesPerSecond, resolved.messageBurst, undefined, now);
    this.#lineRate = new SourceRateLimiter(resolved.lineMessagesPerSecond, 2 * resolved.lineMessagesPerSecond, MAX_LINE_SOURCES, now);
    this.#now = now;
  }

  /** One message from `address`: false when the address has used up its rate. */
  allowMessage(address: string): boolean {
    const until = this.#lineSources.get(address);
    if (until !== undefined && until > this.#now()) return this.#lineRate.take(address);
    return this.#rate.take(address);
  }

  /**
   * A line authenticated in a request from `address`. Over UDP the address could be forged,
   * which earns a forger the line's rate at most: a bounded allowance, not a way around it.
   */
  lineAuthenticatedFrom(address: string): void {
    this.#lineSources.delete(address);
    if (this.#lineSources.size >= MAX_LINE_SOURCES) this.#lineSources.delete(this.#lineSources.keys().next().value!);
    this.#lineSources.set(address, this.#now() + LINE_SOURCE_MS);
  }
}
