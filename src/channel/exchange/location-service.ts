import type { Hop } from '@sideband/sip/protocol';
import type { SipUri } from '@sideband/sip/wire';

/** One binding of a number to a contact (RFC 3261 §10.3). */
export interface Binding {
  readonly number: string;
  /** The Contact URI as registered; INVITEs for the number go to it. */
  readonly contact: string;
  readonly uri: SipUri;
  readonly hop: Hop;
  readonly username: string;
  readonly callId: string;
  readonly cseq: number;
  readonly expiresAt: number;
  readonly registeredAt: number;
}

const MAX_BINDINGS_PER_NUMBER = 5;

/**
 * The location service (RFC 3261 §10.3) held in memory: which contacts each number is
 * bound to, until they expire. A number's newest binding receives its calls.
 */
export class LocationService {
  private readonly bindings = new Map<string, Binding[]>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Live bindings of a number, newest first. */
  lookup(number: string): Binding[] {
    const now = this.now();
    const live = (this.bindings.get(number) ?? []).filter((b) => b.expiresAt > now);
    if (live.length === 0) this.bindings.delete(number);
    else this.bindings.set(number, live);
    return [...live].sort((a, b) => b.registeredAt - a.registeredAt);
  }

  find(number: string, contactKey: string): Binding | undefined {
    return this.lookup(number).find((b) => bindingKey(b.uri) === contactKey);
  }

  /** Adds or replaces the binding with the same contact; the oldest goes when a number has too many. */
  put(binding: Binding): void {
    const key = bindingKey(binding.uri);
    const others = this.lookup(binding.number).filter((b) => bindingKey(b.uri) !== key);
    others.unshift(binding);
    this.bindings.set(binding.number, others.slice(0, MAX_BINDINGS_PER_NUMBER));
  }

  remove(number: string, contactKey?: string): void {
    if (contactKey === undefined) {
      this.bindings.delete(number);
      return;
    }
    const rest = this.lookup(number).filter((b) => bindingKey(b.uri) !== contactKey);
    if (rest.length === 0) this.bindings.delete(number);
    else this.bindings.set(number, rest);
  }

  all(): Binding[] {
    return [...this.bindings.keys()].flatMap((n) => this.lookup(n));
  }
}

/**
 * Contact URIs compared the way RFC 3261 §19.1.4 mostly does: user, host and port, and the
 * transport parameter; other parameters do not make a different contact.
 */
export function bindingKey(uri: SipUri): string {
  return `${uri.scheme}:${uri.user ?? ''}@${uri.host.toLowerCase()}:${uri.port ?? 5060};${(uri.params.get('transport') ?? 'udp').toLowerCase()}`;
}
