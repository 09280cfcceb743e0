import assert from 'node:assert/strict';
import { decodePacket } from '../../../src/aaa/wire/decode-packet.ts';
import type { RadiusPacket } from '../../../src/aaa/wire/radius-packet.ts';

/** RFC 2865 §7.1: the shared secret of the worked example. */
export const rfcSecret = 'xyzzy5461';

/** RFC 2865 §7.1: Access-Request for "nemo", password "arctangent", from NAS 192.168.1.16 port 3. */
export const rfcAccessRequest = Buffer.from(
  '01000038 0f403f9473978057bd83d5cb98f4227a 01066e656d6f 02120dbe708d93d413ce3196e43f782a0aee 0406c0a80110 050600000003'.replaceAll(' ', ''),
  'hex',
);

/** RFC 2865 §7.1: the Access-Accept answering it. */
export const rfcAccessAccept = Buffer.from(
  '02000026 86fe220e7624ba2a1005f6bf9b55e0b2 060600000001 0f0600000000 0e06c0a80103'.replaceAll(' ', ''),
  'hex',
);

/** The secret radclient 3.2.1 was given when the captures below were taken. */
export const capturedSecret = 'loopback-test-secret-01';

/** radclient: User-Name = alice, User-Password = "pap-pass-123", Message-Authenticator = 0x00. */
export const capturedPapRequest = Buffer.from(
  '012e003f2450dd29106c1d3963229cea79cda42f0107616c696365021237a594a5120c504b74c5528b6cd301c35012ae4a46ffeaff643cca697a3fa81fa61f',
  'hex',
);

/** radclient: User-Name = bob, CHAP-Password = "chap-pass-123", Message-Authenticator = 0x00. */
export const capturedChapRequest = Buffer.from(
  '019a003ec653f431c957406d123f0af1835c6ea90105626f620313f8fc22eac61f2fdf898af77c473ee03d0e5012d1270050d0ed2da57396dcc9f4f72087',
  'hex',
);

/** radclient: User-Name = alice, Acct-Status-Type = Start, Acct-Session-Id = "s1", Message-Authenticator = 0x00. */
export const capturedAccountingRequest = Buffer.from(
  '0488003750fa54d8c5854a46a675405f12dd58680107616c6963652806000000012c04733150128c163af6d3dba76b89cde95e1110bc8f',
  'hex',
);

export function packetOf(buf: Buffer): RadiusPacket {
  const result = decodePacket(buf);
  assert.ok(result.ok, result.ok ? '' : result.cause);
  return result.packet;
}
