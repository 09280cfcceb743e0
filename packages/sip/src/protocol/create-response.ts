import { formatNameAddress, withParam } from '../wire/name-addr.ts';
import { toOf, tagOf } from '../wire/message-fields.ts';
import { reasonPhrase } from '../wire/reason-phrase.ts';
import { SipHeaders } from '../wire/sip-headers.ts';
import type { SipRequest, SipResponse } from '../wire/sip-message.ts';

export interface ResponseOptions {
  readonly reason?: string;
  /** Added to To when the request had none (RFC 3261 §8.2.6.2). */
  readonly toTag?: string;
  readonly headers?: readonly (readonly [string, string])[];
  readonly body?: Buffer;
  readonly contentType?: string;
}

/**
 * A response to `request` (RFC 3261 §8.2.6.2): "the From field of the response MUST equal
 * the From header field of the request. The Call-ID ... MUST equal ... The CSeq ... MUST
 * equal ... The Via header field values in the response MUST equal the Via header field
 * values in the request and MUST maintain the same ordering." To gets the UAS's tag unless
 * it had one or the response is 100 (§8.2.6.1: no tag on 100). Record-Route is copied into
 * dialog-creating responses (§12.1.1: the UAS "MUST copy all Record-Route header field values").
 */
export function createResponse(request: SipRequest, status: number, options: ResponseOptions = {}): SipResponse {
  const headers = new SipHeaders();
  for (const via of request.headers.getAll('Via')) headers.append('Via', via);
  if (status > 100 && status < 300 && request.method === 'INVITE') for (const rr of request.headers.getAll('Record-Route')) headers.append('Record-Route', rr);
  headers.append('From', request.headers.get('From')!);
  const to = toOf(request);
  headers.append('To', status > 100 && options.toTag && tagOf(to) === null ? formatNameAddress(withParam(to, 'tag', options.toTag)) : request.headers.get('To')!);
  headers.append('Call-ID', request.headers.get('Call-ID')!);
  headers.append('CSeq', request.headers.get('CSeq')!);
  for (const [name, value] of options.headers ?? []) headers.append(name, value);
  const body = options.body ?? Buffer.alloc(0);
  if (body.length > 0) headers.set('Content-Type', options.contentType ?? 'application/sdp');
  return { kind: 'response', status, reason: options.reason ?? reasonPhrase(status), headers, body };
}
