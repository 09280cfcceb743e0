import { createHmac } from 'node:crypto';
import { attributeDictionary } from '../wire/attribute-dictionary.ts';
import { packetCodeName, type PacketCodeName } from '../wire/packet-code.ts';
import { ATTRIBUTE_HEADER_LENGTH, AUTHENTICATOR_LENGTH, AUTHENTICATOR_OFFSET, HEADER_LENGTH } from '../wire/packet-format.ts';
import type { RadiusPacket } from '../wire/radius-packet.ts';
import { constantTimeEqual } from './constant-time-equal.ts';
import type { SharedSecret } from './shared-secret.ts';

export const MESSAGE_AUTHENTICATOR = attributeDictionary['Message-Authenticator'].type;
// RFC 3579 §3.2: "Length 18", a 16-octet HMAC-MD5.
const MESSAGE_AUTHENTICATOR_LENGTH = 16;
const ZERO = Buffer.alloc(AUTHENTICATOR_LENGTH);

/** 'absent' is for the caller's policy to judge; 'invalid' packets are to be silently discarded. */
export type MessageAuthenticatorCheck = 'absent' | 'valid' | 'invalid';

/** The packet a response answers, as far as the HMAC needs it. */
export interface OriginalRequest {
  readonly code: PacketCodeName;
  readonly authenticator: Buffer;
}

/**
 * What stands in the Authenticator field while the HMAC is computed, by packet kind.
 * RFC 3579 §3.2 defines the Access-* cases: a request's own Request Authenticator, and for
 * Access-Accept, -Reject and -Challenge "the Request Authenticator from the Access-Request".
 * RFC 5997 §3 treats responses to Status-Server the same way. RFC 2869 §5.19 lists no
 * Message-Authenticator in accounting packets at all; the practice that grew since follows
 * RFC 5176's rule for CoA (computed before the Request Authenticator, so over zeros), and
 * FreeRADIUS, radclient included, zeroes the field for Accounting-Request and for
 * Accounting-Response alike. The radclient tests hold Sideband to that.
 *
 * RFC 5176 §3.1 for dynamic authorization: in a CoA-Request or Disconnect-Request the HMAC
 * is computed before the Request Authenticator (RFC 5176 §2.3), with sixteen zero octets
 * in its place; in an ACK or NAK, with the Request Authenticator of the request it answers.
 */
const authenticatorInPlace: Record<PacketCodeName, (packet: Buffer, original: OriginalRequest | undefined) => Buffer> = {
  'Access-Request': asSent,
  'Status-Server': asSent,
  'Accounting-Request': () => ZERO,
  'Access-Accept': fromRequest,
  'Access-Reject': fromRequest,
  'Access-Challenge': fromRequest,
  'Accounting-Response': (packet, original) => (original?.code === 'Status-Server' ? original.authenticator : ZERO),
  'Disconnect-Request': () => ZERO,
  'CoA-Request': () => ZERO,
  'Disconnect-ACK': fromRequest,
  'Disconnect-NAK': fromRequest,
  'CoA-ACK': fromRequest,
  'CoA-NAK': fromRequest,
};

function asSent(packet: Buffer): Buffer {
  return packet.subarray(AUTHENTICATOR_OFFSET, HEADER_LENGTH);
}

function fromRequest(_packet: Buffer, original: OriginalRequest | undefined): Buffer {
  if (original === undefined) throw new TypeError('a response\'s Message-Authenticator is computed with the request it answers (RFC 3579 §3.2)');
  return original.authenticator;
}

/**
 * RFC 3579 §3.2: "Message-Authenticator = HMAC-MD5 (Type, Identifier, Length, Request
 * Authenticator, Attributes)", where "the signature string should be considered to be
 * sixteen octets of zero". `valueOffset` is where the attribute's 16 octets start; the
 * Authenticator field is taken per packet kind, whatever `packet` holds there now.
 */
export function messageAuthenticator(packet: Buffer, valueOffset: number, secret: SharedSecret, original?: OriginalRequest): Buffer {
  const code = packetCodeName(packet[0]!);
  if (code === undefined) throw new RangeError(`Code ${packet[0]} is not one Sideband speaks`);
  return createHmac('md5', secret)
    .update(packet.subarray(0, AUTHENTICATOR_OFFSET))
    .update(authenticatorInPlace[code](packet, original))
    .update(packet.subarray(HEADER_LENGTH, valueOffset))
    .update(ZERO)
    .update(packet.subarray(valueOffset + MESSAGE_AUTHENTICATOR_LENGTH))
    .digest();
}

/**
 * Fills in the Message-Authenticator of an encoded packet that carries one (with any
 * value) and returns the packet. Call it before computing a Response Authenticator or an
 * Accounting-Request's Request Authenticator, which cover it.
 */
export function signMessageAuthenticator(packet: Buffer, secret: SharedSecret, original?: OriginalRequest): Buffer {
  let at = HEADER_LENGTH;
  while (at < packet.length && packet[at] !== MESSAGE_AUTHENTICATOR) at += packet[at + 1]!;
  if (at >= packet.length || packet[at + 1] !== ATTRIBUTE_HEADER_LENGTH + MESSAGE_AUTHENTICATOR_LENGTH) {
    throw new RangeError('the packet carries no 18-octet Message-Authenticator to sign');
  }
  messageAuthenticator(packet, at + ATTRIBUTE_HEADER_LENGTH, secret, original).copy(packet, at + ATTRIBUTE_HEADER_LENGTH);
  return packet;
}

/**
 * Checks a packet's Message-Authenticator (RFC 3579 §3.2, RFC 2869 §5.14). Requests need
 * no `original`; responses are checked against the request they answer.
 *
 * RFC 3579 §3.2: a server "MUST calculate the correct value of the Message-Authenticator
 * and silently discard the packet if it does not match the value sent." One with the wrong
 * length, or more than one in a packet, is 'invalid' as well: RFC 3579 §3.3 allows "0-1".
 */
export function verifyMessageAuthenticator(packet: RadiusPacket, secret: SharedSecret, original?: OriginalRequest): MessageAuthenticatorCheck {
  const at = packet.offsetOf(MESSAGE_AUTHENTICATOR);
  if (at === -1) return 'absent';
  if (packet.raw[at + 1] !== ATTRIBUTE_HEADER_LENGTH + MESSAGE_AUTHENTICATOR_LENGTH) return 'invalid';
  if (packet.offsetOf(MESSAGE_AUTHENTICATOR, at + packet.raw[at + 1]!) !== -1) return 'invalid';
  if (original === undefined && authenticatorInPlace[packet.code] === fromRequest) return 'invalid';
  const valueOffset = at + ATTRIBUTE_HEADER_LENGTH;
  const received = packet.raw.subarray(valueOffset, valueOffset + MESSAGE_AUTHENTICATOR_LENGTH);
  return constantTimeEqual(received, messageAuthenticator(packet.raw, valueOffset, secret, original)) ? 'valid' : 'invalid';
}
