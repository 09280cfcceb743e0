import { randomBytes } from 'node:crypto';
import { encodePacket, type AttributeInput } from '../wire/encode-packet.ts';
import type { DynamicAuthorizationRequestCode } from '../wire/packet-code.ts';
import { AUTHENTICATOR_LENGTH, AUTHENTICATOR_OFFSET } from '../wire/packet-format.ts';
import { accountingRequestAuthenticator } from './accounting-request-authenticator.ts';
import { encodeChapPassword } from './chap-password.ts';
import { MESSAGE_AUTHENTICATOR, signMessageAuthenticator } from './message-authenticator.ts';
import type { SharedSecret } from './shared-secret.ts';
import { hideUserPassword } from './user-password.ts';

// Requests as a NAS builds them, for tests, benchmarks and the CLI's probes, and the two
// requests Sideband itself sends to a NAS as a Dynamic Authorization Client (RFC 5176).

interface RequestInput {
  readonly identifier: number;
  readonly secret: SharedSecret;
  readonly attributes?: readonly AttributeInput[];
  /** Sign with a Message-Authenticator, first among the attributes. Default true. */
  readonly messageAuthenticator?: boolean;
}

export interface AccessRequestInput extends RequestInput {
  /** Random when omitted, as RFC 2865 §3 wants: "unpredictable and unique over the lifetime of a secret". */
  readonly authenticator?: Buffer;
  /** Sent as User-Password, hidden (RFC 2865 §5.2). */
  readonly password?: string;
  /** Sent as CHAP-Password; the challenge goes in CHAP-Challenge, or is the Request Authenticator when omitted (RFC 2865 §5.3). */
  readonly chap?: { readonly password: string; readonly ident?: number; readonly challenge?: Buffer };
}

/**
 * @example
 * const datagram = encodeAccessRequest({ identifier: 1, secret, password: 'correct horse',
 *   attributes: [{ name: 'User-Name', value: 'alice' }, { name: 'NAS-IP-Address', value: '192.0.2.1' }] });
 */
export function encodeAccessRequest(input: AccessRequestInput): Buffer {
  const authenticator = input.authenticator ?? randomBytes(AUTHENTICATOR_LENGTH);
  const attributes: AttributeInput[] = [...signature(input), ...(input.attributes ?? [])];
  if (input.password !== undefined) {
    attributes.push({ name: 'User-Password', value: hideUserPassword(input.password, input.secret, authenticator) });
  }
  if (input.chap !== undefined) {
    const { password, ident = 0, challenge } = input.chap;
    attributes.push({ name: 'CHAP-Password', value: encodeChapPassword(ident, password, challenge ?? authenticator) });
    if (challenge !== undefined) attributes.push({ name: 'CHAP-Challenge', value: challenge });
  }
  const packet = encodePacket({ code: 'Access-Request', identifier: input.identifier, authenticator, attributes });
  return input.messageAuthenticator === false ? packet : signMessageAuthenticator(packet, input.secret);
}

/**
 * The Message-Authenticator is computed over a zero Authenticator field, then the Request
 * Authenticator over the packet holding it (RFC 2866 §3; see message-authenticator.ts).
 */
export function encodeAccountingRequest(input: RequestInput): Buffer {
  return signedAsAccounting('Accounting-Request', input);
}

/**
 * A Disconnect-Request or CoA-Request (RFC 5176 §3). "The Request Authenticator field …
 * is calculated the same way as the Request Authenticator for an Accounting-Request"
 * (§2.3), and the Message-Authenticator, first among the attributes, before it (§3.1).
 * Sideband always signs: after BlastRADIUS a NAS may refuse unsigned requests.
 *
 * @example
 * encodeDynamicAuthorizationRequest('Disconnect-Request', { identifier: 9, secret, attributes: [
 *   { name: 'Acct-Session-Id', value: '0A0B0C0D' }, { name: 'User-Name', value: 'alice' },
 * ] });
 */
export function encodeDynamicAuthorizationRequest(code: DynamicAuthorizationRequestCode, input: Omit<RequestInput, 'messageAuthenticator'>): Buffer {
  return signedAsAccounting(code, { ...input, messageAuthenticator: true });
}

function signedAsAccounting(code: 'Accounting-Request' | DynamicAuthorizationRequestCode, input: RequestInput): Buffer {
  const packet = encodePacket({ code, identifier: input.identifier, attributes: [...signature(input), ...(input.attributes ?? [])] });
  if (input.messageAuthenticator !== false) signMessageAuthenticator(packet, input.secret);
  accountingRequestAuthenticator(packet, input.secret).copy(packet, AUTHENTICATOR_OFFSET);
  return packet;
}

/** Always signed: RFC 5997 §3 requires a Message-Authenticator in every Status-Server. */
export function encodeStatusServer(input: Omit<RequestInput, 'messageAuthenticator'>): Buffer {
  const packet = encodePacket({
    code: 'Status-Server',
    identifier: input.identifier,
    authenticator: randomBytes(AUTHENTICATOR_LENGTH),
    attributes: [...signature({ ...input, messageAuthenticator: true }), ...(input.attributes ?? [])],
  });
  return signMessageAuthenticator(packet, input.secret);
}

function signature(input: RequestInput): AttributeInput[] {
  return input.messageAuthenticator === false ? [] : [{ type: MESSAGE_AUTHENTICATOR, value: Buffer.alloc(AUTHENTICATOR_LENGTH) }];
}
