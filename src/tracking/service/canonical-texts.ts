/** How many session ids it keeps before it starts afresh: a bound on memory, not a cache policy. */
const MAX_TEXTS = 65_536;

/**
 * One string object per session id, for the destination book's Map of sessions, on the
 * path that resolves a source without SourceHolders (which keeps its own). The binding
 * index hands out a fresh string for every record, and a Map looks a fresh string up by
 * hashing and comparing it in full; a string seen before has its hash cached and matches
 * by identity. Keyed by the source's IPv4 address as a number, parsed from its text
 * (cheaper than hashing it); other sources pass through unchanged.
 */
export class CanonicalTexts {
  /** Source address → the session id last attributed to it. */
  private readonly sessions = new Map<number, string>();

  /** `sessionId`, or an equal string seen before for the same source address. */
  session(sourceAddress: string, sessionId: string): string {
    const key = ipv4Number(sourceAddress);
    if (key < 0) return sessionId;
    const known = this.sessions.get(key);
    // A string comparison, not a hash: the address may have changed hands since.
    if (known === sessionId) return known;
    if (this.sessions.size >= MAX_TEXTS) this.sessions.clear();
    this.sessions.set(key, sessionId);
    return sessionId;
  }
}

/**
 * The IPv4 address of dotted-quad text as a number; -1 for anything else. Only the
 * decoder's own output need be read (no leading zeros, four parts of 0–255), but any other
 * text must not map onto an address it is not.
 */
export function ipv4Number(text: string): number {
  const length = text.length;
  if (length < 7 || length > 15) return -1;
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return -1; // a leading zero
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return -1;
    } else {
      return -1;
    }
  }
  if (digits === 0 || dots !== 3) return -1;
  return value * 256 + part;
}
