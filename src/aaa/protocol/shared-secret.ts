/**
 * The secret a RADIUS client and server share (RFC 2865 §3). Octets; a string is taken as
 * its UTF-8 encoding, as radclient and FreeRADIUS take their configured secrets. Servers
 * should hold it as a Buffer, converted once, since every packet uses it.
 */
export type SharedSecret = Buffer | string;

/** The secret as octets: a string's UTF-8, as the type's comment says. */
export function secretOctets(secret: SharedSecret): Buffer {
  return typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
}
