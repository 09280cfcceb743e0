import { randomBytes } from 'node:crypto';
import { MAGIC_COOKIE } from '../wire/via.ts';

// base64url rather than hex: a long run of decimal digits in a Call-ID would look like a
// card number to the log redaction (src/observability/redact.ts) and be masked in logs.

/** RFC 3261 §8.1.1.7: a branch unique in space and time, starting with the magic cookie. */
export const newBranch = (): string => `${MAGIC_COOKIE}${randomBytes(12).toString('base64url')}`;

/** RFC 3261 §19.3: a tag "MUST be globally unique and cryptographically random with at least 32 bits of randomness". */
export const newTag = (): string => randomBytes(9).toString('base64url');

/** RFC 3261 §8.1.1.4: "use of cryptographically random identifiers ... in the generation of Call-IDs is RECOMMENDED". */
export const newCallId = (host: string): string => `${randomBytes(18).toString('base64url')}@${host.includes(':') ? `[${host}]` : host}`;
