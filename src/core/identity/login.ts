import { SidebandError } from '../../errors/sideband-error.ts';

/** RADIUS User-Name is at most 253 octets (RFC 2865 §5.1); PAP passwords at most 128 (§5.2). */
export function assertLogin(login: string): string {
  if (!/^[\x21-\x7e\u00a0-\uffff]{1,253}$/u.test(login) || Buffer.byteLength(login) > 253) {
    throw new SidebandError('SUBSCRIBER_LOGIN_INVALID', 'A login is 1 to 253 printable characters without spaces.', { param: 'login' });
  }
  return login;
}

export function assertPassword(password: string): string {
  const n = Buffer.byteLength(password);
  if (n < 8 || n > 128) throw new SidebandError('SUBSCRIBER_PASSWORD_WEAK', 'A password is 8 to 128 bytes long.', { param: 'password' });
  return password;
}
