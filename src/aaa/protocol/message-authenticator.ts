import { attributeDictionary } from '../wire/attribute-dictionary.ts';
import { packetCodeName, type PacketCodeName } from '../wire/packet-code.ts';
import { ATTRIBUTE_HEADER_LENGTH, AUTHENTICATOR_LENGTH, AUTHENTICATOR_OFFSET, HEADER_LENGTH } from '../wire/packet-format.ts';
import type { RadiusPacket } from '../wire/radius-packet.ts';
import { constantTimeEqual } from './constant-time-equal.ts';
import { hmacMd5Key, Md5 } from './md5.ts';
import type { SharedSecret } from './shared-secret.ts';

export const MESSAGE_AUTHENTICATOR = attributeDictionary['Message-Authenticator'].type;
// RFC 3579 §3.2: "Length 18", a 16-octet HMAC-MD5.
const MESSAGE_AUTHENTICATOR_LENGTH = 16;

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
const authenticatorInPlace: Record<PacketCodeName, 'as-sent' | 'zeros' | 'request' | 'status-server-or-zeros'> = {
  'Access-Request': 'as-sent',
  'Status-Server': 'as-sent',
  'Accounting-Request': 'zeros',
  'Access-Accept': 'request',
  'Access-Reject': 'request',
  'Access-Challenge': 'request',
  'Accounting-Response': 'status-server-or-zeros',
  'Disconnect-Request': 'zeros',
  'CoA-Request': 'zeros',
  'Disconnect-ACK': 'request',
  'Disconnect-NAK': 'request',
  'CoA-ACK': 'request',
  'CoA-NAK': 'request',
};

/** Used to its digest before anything else can run, so one serves every packet. */
const hash = new Md5();
const computed = Buffer.alloc(MESSAGE_AUTHENTICATOR_LENGTH);

/**
 * RFC 3579 §3.2: "Message-Authenticator = HMAC-MD5 (Type, Identifier, Length, Request
 * Authenticator, Attributes)", where "the signature string should be considered to be
 * sixteen octets of zero". `valueOffset` is where the attribute's 16 octets start; the
 * Authenticator field is taken per packet kind, whatever `packet` holds there now.
 */
export function messageAuthenticator(packet: Buffer, valueOffset: number, secret: SharedSecret, original?: OriginalRequest): Buffer {
  const out = Buffer.allocUnsafe(MESSAGE_AUTHENTICATOR_LENGTH);
  writeMessageAuthenticator(packet, valueOffset, secret, original, out, 0);
  return out;
}

/** `messageAuthenticator`, written to `out` at `at` (which may be the packet's own value field). */
function writeMessageAuthenticator(packet: Buffer, valueOffset: number, secret: SharedSecret, original: OriginalRequest | undefined, out: Uint8Array, at: number): void {
  const code = packetCodeName(packet[0]!);
  if (code === undefined) throw new RangeError(`Code ${packet[0]} is not one Sideband speaks`);
  const key = hmacMd5Key(secret);
  key.start(hash).update(packet, 0, AUTHENTICATOR_OFFSET);
  switch (authenticatorInPlace[code]) {
    case 'as-sent':
      hash.update(packet, AUTHENTICATOR_OFFSET, HEADER_LENGTH);
      break;
    case 'zeros':
      hash.zeros(AUTHENTICATOR_LENGTH);
      break;
    case 'request':
      if (original === undefined) throw new TypeError('a response\'s Message-Authenticator is computed with the request it answers (RFC 3579 §3.2)');
      hash.update(original.authenticator);
      break;
    case 'status-server-or-zeros':
      if (original?.code === 'Status-Server') hash.update(original.authenticator);
      else hash.zeros(AUTHENTICATOR_LENGTH);
  }
  hash.update(packet, HEADER_LENGTH, valueOffset).zeros(MESSAGE_AUTHENTICATOR_LENGTH).update(packet, valueOffset + MESSAGE_AUTHENTICATOR_LENGTH);
  key.finishInto(hash, out, at);
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
  writeMessageAuthenticator(packet, at + ATTRIBUTE_HEADER_LENGTH, secret, original, packet, at + ATTRIBUTE_HEADER_LENGTH);
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
  if (original === undefined && authenticatorInPlace[packet.code] === 'request') return 'invalid';
  const valueOffset = at + ATTRIBUTE_HEADER_LENGTH;
  const received = packet.raw.subarray(valueOffset, valueOffset + MESSAGE_AUTHENTICATOR_LENGTH);
  writeMessageAuthenticator(packet.raw, valueOffset, secret, original, computed, 0);
  return constantTimeEqual(received, computed) ? 'valid' : 'invalid';
}
