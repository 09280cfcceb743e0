import type { SipLogger as Logger } from '../sip-observability.ts';
import type { Peer } from '../transport/sip-transport.ts';
import type { SipResponse } from '../wire/sip-message.ts';
import type { Hop } from './hop.ts';
import type { SipTimers } from './sip-timers.ts';

/** What a transaction needs from the layer that owns it. */
export interface TransactionContext {
  readonly timers: SipTimers;
  readonly logger: Logger;
  sendBytes(bytes: Buffer, hop: Hop): Promise<void>;
  /** Where a response to a request from `source` goes (RFC 3261 §18.2.2). */
  responseHop(response: SipResponse, source: Peer): Hop;
  terminated(transaction: { readonly key: string; readonly side: 'client' | 'server' }): void;
}

/** A one-shot timer that a transaction can cancel together with the others it holds. */
export class TransactionTimers {
  private readonly handles = new Map<string, NodeJS.Timeout>();

  set(name: string, ms: number, fire: () => void): void {
    this.clear(name);
    this.handles.set(name, setTimeout(() => {
      this.handles.delete(name);
      fire();
    }, ms));
  }

  clear(name: string): void {
    const handle = this.handles.get(name);
    if (handle) clearTimeout(handle);
    this.handles.delete(name);
  }

  clearAll(): void {
    for (const handle of this.handles.values()) clearTimeout(handle);
    this.handles.clear();
  }
}
