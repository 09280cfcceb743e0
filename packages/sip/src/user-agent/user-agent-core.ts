import type { SipLogger as Logger } from '../sip-observability.ts';
import type { Hop } from '../protocol/hop.ts';
import type { ServerTransaction } from '../protocol/server-transaction.ts';
import type { SipMetrics } from '../sip-metrics.ts';
import type { SipTimers } from '../protocol/sip-timers.ts';
import type { TransactionLayer } from '../protocol/transaction-layer.ts';
import type { TransportProtocol } from '../transport/sip-transport.ts';
import type { SipRequest, SipResponse } from '../wire/sip-message.ts';
import { SipFailure } from './sip-failure.ts';

/** What registrations, calls and answers share of their user agent. */
export interface UserAgentCore {
  readonly layer: TransactionLayer;
  readonly logger: Logger;
  readonly timers: SipTimers;
  /** The User-Agent header value (RFC 3261 §20.41). */
  readonly product: string;
  /** Our Contact for `user` on a transport (RFC 3261 §8.1.1.8). */
  contact(user: string, transport: TransportProtocol): string;
  readonly metrics: SipMetrics;
  /** Dialogs by id (Dialog.idOf), for in-dialog requests and ACKs. */
  readonly dialogs: Map<string, DialogUser>;
}

/** What receives the requests of one dialog: a Call. */
export interface DialogUser {
  handleRequest(request: SipRequest, transaction: ServerTransaction | null): void;
}

export const ALLOW = 'INVITE, ACK, BYE, CANCEL, OPTIONS';

/** Sends a request in a client transaction and resolves with its final response. */
export function requestFinal(layer: TransactionLayer, request: SipRequest, hop: Hop): Promise<SipResponse> {
  return new Promise((resolve, reject) => {
    layer.sendRequest(request, hop, {
      response: (response) => {
        if (response.status >= 200) resolve(response);
      },
      timeout: () => reject(new SipFailure('SIP_UNREACHABLE', 408, `no response to ${request.method} from ${hop.transport} ${hop.host}:${hop.port}`)),
      transportError: (e) => reject(new SipFailure('SIP_UNREACHABLE', 503, `${request.method} to ${hop.transport} ${hop.host}:${hop.port}: ${e.message}`)),
    });
  });
}
