import type { Logger } from '../../observability/logger.ts';
import { createResponse, hopOf, type ServerTransaction, type TransactionLayer } from '@sideband/sip/protocol';
import { callIdOf, fromOf, tagOf, toOf, topViaOf, parseNameAddress, type SipRequest, viaBranch } from '@sideband/sip/wire';
import type { CallLedger } from './call-ledger.ts';
import { forwardedCopy, statelessBranch, upstreamCopy } from './proxy-messages.ts';

/**
 * Relays requests inside the dialogs the exchange set up (RFC 3261 §16.4, §16.6): they
 * reach it through the Record-Route it added, it removes its own Route entries and sends
 * the request on to the next Route or the Request-URI. ACK for a 2xx is relayed without a
 * transaction (§16.11 branch); BYE closes the call's record. Requests for dialogs the
 * exchange does not know are refused 481, so that it is no open relay.
 */
export class DialogRouter {
  constructor(
    private readonly layer: TransactionLayer,
    private readonly ledger: CallLedger,
    private readonly logger: Logger,
  ) {}

  /** Removes the leading Route values that name this exchange (§16.4); returns how many. */
  popOwnRoutes(request: SipRequest): number {
    let popped = 0;
    for (;;) {
      const first = request.headers.getAll('Route')[0];
      if (first === undefined) return popped;
      const route = parseNameAddress(first);
      if (!route.ok || route.value.uri.scheme === 'tel' || !this.layer.isLocal(route.value.uri.host, route.value.uri.port)) return popped;
      request.headers.removeFirst('Route');
      popped++;
    }
  }

  route(request: SipRequest, server: ServerTransaction | null, routedHere: boolean): void {
    const refuse = (status: number, reason?: string) => server?.respond(createResponse(request, status, reason ? { reason } : {}));
    if (!routedHere) return refuse(404, 'Not Here');
    const fromTag = tagOf(fromOf(request));
    const call = this.ledger.findDialog(callIdOf(request), fromTag, tagOf(toOf(request)));
    if (!call) return refuse(481);

    const next = request.headers.getAll('Route')[0];
    const target = next === undefined ? request.uri : (() => {
      const r = parseNameAddress(next);
      return r.ok && r.value.uri.scheme !== 'tel' ? r.value.uri : null;
    })();
    const hop = target === null ? null : hopOf(target);
    if (hop === null || !this.layer.transport(hop.transport)) return refuse(502, 'Next Hop Unreachable');

    const forwarded = forwardedCopy(request, request.uri);
    if (request.method === 'BYE') this.ledger.ended(call, fromTag);
    if (request.method === 'ACK') {
      this.layer.sendStateless(forwarded, hop, statelessBranch(viaBranch(topViaOf(request)) ?? '')).catch((e: Error) => this.logger.debug({ err: e }, 'SIP ACK could not be relayed'));
      return;
    }
    if (!server) return;
    this.layer.sendRequest(forwarded, hop, {
      response: (response) => {
        if (response.status > 100) server.respond(upstreamCopy(response));
      },
      timeout: () => server.respond(createResponse(request, 408)),
      transportError: () => server.respond(createResponse(request, 480, { reason: 'Peer Unreachable' })),
    });
  }
}
