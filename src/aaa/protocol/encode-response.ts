import { attributeDictionary } from '../wire/attribute-dictionary.ts';
import { encodePacket, type AttributeInput } from '../wire/encode-packet.ts';
import type { RequestCodeName, ResponseCodeName } from '../wire/packet-code.ts';
import { AUTHENTICATOR_LENGTH, AUTHENTICATOR_OFFSET } from '../wire/packet-format.ts';
import type { RadiusPacket } from '../wire/radius-packet.ts';
import { MESSAGE_AUTHENTICATOR, signMessageAuthenticator } from './message-authenticator.ts';
import { responseAuthenticator } from './response-authenticator.ts';
import type { SharedSecret } from './shared-secret.ts';

const PROXY_STATE = attributeDictionary['Proxy-State'].type;

/** Which responses answer which request: RFC 2865 §4, RFC 2866 §4, RFC 5997 §3, RFC 5176 §2. */
const responsesTo: Record<RequestCodeName, readonly ResponseCodeName[]> = {
  'Access-Request': ['Access-Accept', 'Access-Reject', 'Access-Challenge'],
  'Accounting-Request': ['Accounting-Response'],
  // RFC 5997 §3: Access-Accept from an authentication port, Accounting-Response from an accounting port.
  'Status-Server': ['Access-Accept', 'Accounting-Response'],
  // Sent by the NAS, answering Sideband; built here for the test NAS.
  'Disconnect-Request': ['Disconnect-ACK', 'Disconnect-NAK'],
  'CoA-Request': ['CoA-ACK', 'CoA-NAK'],
};

export interface ResponseInput {
  readonly request: RadiusPacket;
  readonly code: ResponseCodeName;
  /** Neither Message-Authenticator nor Proxy-State: both are added here. */
  readonly attributes?: readonly AttributeInput[];
  readonly secret: SharedSecret;
  /**
   * Leave Message-Authenticator out. Only for an Accounting-Response over TLS (RFC 6614),
   * where nothing can be forged on the path and where peers disagree on how to compute it:
   * FreeRADIUS zeroes the authenticator field (message-authenticator.ts), radsecproxy
   * puts the Request Authenticator there and drops a response computed the other way.
   */
  readonly withoutMessageAuthenticator?: boolean;
}

/**
 * Builds a response to `request`, signed for its client:
 *
 * 1. Message-Authenticator goes first, in every response. BlastRADIUS (CVE-2024-3596)
 *    turns an Access-Reject into an Access-Accept with the same Response Authenticator by
 *    an MD5 chosen-prefix collision, its blocks smuggled in through Proxy-State. An HMAC
 *    the attacker cannot compute, placed before anything they control, lies inside the
 *    prefix they would need to know in advance; the published mitigations have servers
 *    put it first in every response.
 * 2. Proxy-State attributes of the request follow the caller's attributes: "If any
 *    Proxy-State attributes were present in the Access-Request, they MUST be copied
 *    unmodified and in order into the response packet" (RFC 2865 §4.2–4.4, RFC 2866 §4.2).
 * 3. The Message-Authenticator is computed (RFC 3579 §3.2; see message-authenticator.ts
 *    for the accounting case), then the Response Authenticator over the result
 *    (RFC 2865 §3), which covers it.
 *
 * @example
 * socket.send(encodeResponse({ request, code: 'Access-Accept', secret, attributes: [
 *   { name: 'Framed-IP-Address', value: '192.0.2.10' },
 * ] }), port, address);
 */
export function encodeResponse(input: ResponseInput): Buffer {
  const { request, code, secret } = input;
  const allowed = request.code in responsesTo ? responsesTo[request.code as RequestCodeName] : [];
  if (!allowed.includes(code)) throw new RangeError(`${code} does not answer ${request.code}`);
  const attributes = input.attributes ?? [];
  for (const attribute of attributes) {
    const type = 'name' in attribute ? attributeDictionary[attribute.name].type : attribute.type;
    if (type === MESSAGE_AUTHENTICATOR || type === PROXY_STATE) {
      throw new RangeError('encodeResponse adds Message-Authenticator and Proxy-State itself');
    }
  }

  const packet = encodePacket({
    code,
    identifier: request.identifier,
    authenticator: request.authenticator,
    attributes: [
      ...(input.withoutMessageAuthenticator ? [] : [{ type: MESSAGE_AUTHENTICATOR, value: Buffer.alloc(AUTHENTICATOR_LENGTH) }]),
      ...attributes,
      ...request.allOctets(PROXY_STATE).map((value) => ({ type: PROXY_STATE, value })),
    ],
  });
  if (!input.withoutMessageAuthenticator) signMessageAuthenticator(packet, secret, request);
  responseAuthenticator(packet, request.authenticator, secret).copy(packet, AUTHENTICATOR_OFFSET);
  return packet;
}
