import { SipHeaders } from '../wire/sip-headers.ts';
import { cseqOf, fromOf, tagOf, toOf } from '../wire/message-fields.ts';
import { parseNameAddress, formatNameAddress, withParam } from '../wire/name-addr.ts';
import type { SipRequest, SipResponse } from '../wire/sip-message.ts';
import { formatUri } from '../wire/uri.ts';
import { hopOf, type Hop } from './hop.ts';

/**
 * A dialog (RFC 3261 §12): the state two user agents share after an INVITE is answered,
 * from which every request inside the call is built.
 */
export class Dialog {
  private constructor(
    readonly callId: string,
    readonly localTag: string,
    readonly remoteTag: string,
    /** The From of requests we send: our address with our tag. */
    private readonly localAddress: string,
    /** The To of requests we send: the peer's address with its tag. */
    private readonly remoteAddress: string,
    private localSeq: number,
    private remoteSeq: number | null,
    readonly remoteTarget: string,
    readonly routeSet: readonly string[],
  ) {}

  /**
   * RFC 3261 §12.1.2: "The route set MUST be set to the list of URIs in the Record-Route
   * header field from the response, taken in reverse order"; "The remote target MUST be
   * set to the URI from the Contact header field of the response"; the local sequence
   * number is the INVITE's CSeq.
   */
  static asCaller(invite: SipRequest, response: SipResponse): Dialog | null {
    const remoteTag = tagOf(toOf(response));
    const contact = parseNameAddress(response.headers.getAll('Contact')[0] ?? '');
    if (remoteTag === null || !contact.ok) return null;
    return new Dialog(
      response.headers.get('Call-ID')!,
      tagOf(fromOf(invite))!,
      remoteTag,
      invite.headers.get('From')!,
      response.headers.get('To')!,
      cseqOf(invite).seq,
      null,
      formatUri(contact.value.uri),
      response.headers.getAll('Record-Route').reverse(),
    );
  }

  /**
   * RFC 3261 §12.1.1: the route set is the Record-Route of the request "taken in order",
   * the remote target its Contact, the remote sequence number its CSeq.
   */
  static asCallee(invite: SipRequest, localTag: string): Dialog | null {
    const contact = parseNameAddress(invite.headers.getAll('Contact')[0] ?? '');
    const remoteTag = tagOf(fromOf(invite));
    if (!contact.ok || remoteTag === null) return null;
    return new Dialog(
      invite.headers.get('Call-ID')!,
      localTag,
      remoteTag,
      formatNameAddress(withParam(toOf(invite), 'tag', localTag)),
      invite.headers.get('From')!,
      Math.floor(Math.random() * 2 ** 16),
      cseqOf(invite).seq,
      formatUri(contact.value.uri),
      invite.headers.getAll('Record-Route'),
    );
  }

  /** Matches what a dialog's peer sends us: Call-ID, our tag in To, its tag in From (§12.2.2). */
  get id(): string {
    return Dialog.idOf(this.callId, this.localTag, this.remoteTag);
  }

  static idOf(callId: string, localTag: string, remoteTag: string): string {
    return `${callId}|${localTag}|${remoteTag}`;
  }

  /**
   * RFC 3261 §12.2.2: "If the remote sequence number was not empty, but the sequence number
   * of the request is lower than the remote sequence number, the request is out of order
   * and MUST be rejected with a 500 (Server Internal Error) response."
   */
  acceptRemoteSeq(seq: number): boolean {
    if (this.remoteSeq !== null && seq < this.remoteSeq) return false;
    this.remoteSeq = seq;
    return true;
  }

  /**
   * A request within the dialog (RFC 3261 §12.2.1.1) and the hop to send it to (§8.1.2:
   * the first Route, else the Request-URI). With a loose-routing first route (`lr`) the
   * Request-URI is the remote target and Route is the route set; with a strict router the
   * first route becomes the Request-URI and the remote target goes last in Route.
   * `cseq` is for the ACK of a 2xx, which reuses the INVITE's number (§13.2.2.4).
   */
  createRequest(method: string, options: { cseq?: number; body?: Buffer; contentType?: string; headers?: readonly (readonly [string, string])[] } = {}): { request: SipRequest; hop: Hop | null } {
    const seq = options.cseq ?? ++this.localSeq;
    const routes = [...this.routeSet];
    let uri = this.remoteTarget;
    const first = routes[0] === undefined ? null : parseNameAddress(routes[0]);
    let strict = false;
    if (first?.ok && first.value.uri.scheme !== 'tel' && !first.value.uri.params.has('lr')) {
      uri = formatUri({ ...first.value.uri, params: new Map([...first.value.uri.params].filter(([k]) => k !== 'method' && k !== 'maddr' && k !== 'ttl' && k !== 'transport' && k !== 'lr')) });
      routes.shift();
      routes.push(`<${this.remoteTarget}>`);
      strict = true;
    }
    const headers = new SipHeaders();
    for (const route of routes) headers.append('Route', route);
    headers.append('Max-Forwards', '70');
    headers.append('From', this.localAddress);
    headers.append('To', this.remoteAddress);
    headers.append('Call-ID', this.callId);
    headers.append('CSeq', `${seq} ${method}`);
    for (const [name, value] of options.headers ?? []) headers.append(name, value);
    const body = options.body ?? Buffer.alloc(0);
    if (body.length > 0) headers.append('Content-Type', options.contentType ?? 'application/sdp');
    // §8.1.2: after a strict route, the hop is the Request-URI (that router) itself.
    const nextHop = strict || routes[0] === undefined ? uri : (() => {
      const r = parseNameAddress(routes[0]);
      return r.ok && r.value.uri.scheme !== 'tel' ? r.value.uri : null;
    })();
    return { request: { kind: 'request', method, uri, headers, body }, hop: nextHop === null ? null : hopOf(nextHop) };
  }
}
