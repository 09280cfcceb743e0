import { sign, type KeyObject } from 'node:crypto';

/**
 * A self-signed X.509 v3 certificate (RFC 5280) for an ECDSA P-256 key, encoded by hand in
 * DER (ITU-T X.690). The channel needs no more: its TLS peers trust the certificate's
 * registered SHA-256 fingerprint (RFC 8122), not a chain, so the certificate only has to
 * carry the public key in a form TLS 1.3 accepts. Writing these few fields directly keeps
 * `@sideband/channel` (and the SDK's `./channel`) free of an ASN.1 library and its
 * decorator runtime.
 */
export interface SelfSignedCertificateInput {
  /** ECDSA P-256 key pair; the certificate is signed with ecdsa-with-SHA256. */
  privateKey: KeyObject;
  publicKey: KeyObject;
  commonName: string;
  /** Positive, at most 20 octets (RFC 5280 §4.1.2.2). */
  serialNumber: Buffer;
  notBefore: Date;
  notAfter: Date;
}

// X.690 §8.1.3: definite length, short form below 128, else long form.
function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  let length: Buffer;
  if (n < 0x80) length = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
    length = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), length, content]);
}

const sequence = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => tlv(0x31, Buffer.concat(items));

// X.690 §8.3: two's complement, minimal; a leading 0x00 keeps a high first bit positive.
function integer(value: Buffer): Buffer {
  let v = value;
  while (v.length > 1 && v[0] === 0 && v[1]! < 0x80) v = v.subarray(1);
  if (v[0]! >= 0x80) v = Buffer.concat([Buffer.from([0]), v]);
  return tlv(0x02, v);
}

// X.690 §8.19: first two arcs as 40·a + b, then base-128 with continuation bits.
function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const out = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const bytes = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) bytes.unshift(0x80 | (v & 0x7f));
    out.push(...bytes);
  }
  return tlv(0x06, Buffer.from(out));
}

// RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; always in Z, with seconds.
function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
  const year = d.getUTCFullYear();
  return year < 2050 ? tlv(0x17, Buffer.from(iso.slice(2), 'ascii')) : tlv(0x18, Buffer.from(iso, 'ascii'));
}

const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2'; // RFC 5758 §3.2: parameters MUST be absent
const COMMON_NAME = '2.5.4.3';

/** DER of the certificate. */
export function selfSignedCertificate(input: SelfSignedCertificateInput): Buffer {
  if (input.privateKey.asymmetricKeyType !== 'ec' || input.privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new TypeError('selfSignedCertificate needs an ECDSA P-256 key');
  const algorithm = sequence(oid(ECDSA_WITH_SHA256));
  const name = sequence(set(sequence(oid(COMMON_NAME), tlv(0x0c, Buffer.from(input.commonName, 'utf8')))));
  // RFC 5280 §4.1: TBSCertificate; v3 is [0] EXPLICIT INTEGER 2. Issuer and subject are one name (self-signed).
  const tbs = sequence(
    tlv(0xa0, integer(Buffer.from([2]))),
    integer(input.serialNumber),
    algorithm,
    name,
    sequence(time(input.notBefore), time(input.notAfter)),
    name,
    input.publicKey.export({ format: 'der', type: 'spki' }),
  );
  // RFC 5758 §3.2: the signature value is the DER ECDSA-Sig-Value, in a BIT STRING with no unused bits.
  const signature = sign('sha256', tbs, { key: input.privateKey, dsaEncoding: 'der' });
  return sequence(tbs, algorithm, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
}
