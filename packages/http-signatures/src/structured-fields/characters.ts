// Character classes of the RFC 8941 grammar (RFC 5234 Appendix B.1, RFC 9110 §5.6.2).
// Tested by character code so that no regular expression runs over attacker input.

export function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

export function isLcAlpha(c: string): boolean {
  return c >= 'a' && c <= 'z';
}

export function isAlpha(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
//   "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
const tcharSymbols = "!#$%&'*+-.^_`|~";

export function isTchar(c: string): boolean {
  return c.length === 1 && (isAlpha(c) || isDigit(c) || tcharSymbols.includes(c));
}

// RFC 8941 §4.2.3.3: key = ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" )
export function isKeyStart(c: string): boolean {
  return isLcAlpha(c) || c === '*';
}

export function isKeyChar(c: string): boolean {
  return isLcAlpha(c) || isDigit(c) || c === '_' || c === '-' || c === '.' || c === '*';
}

export function isBase64Char(c: string): boolean {
  return isAlpha(c) || isDigit(c) || c === '+' || c === '/' || c === '=';
}

/** RFC 8941 §3.3.3: Strings are "zero or more printable ASCII characters (i.e., the range %x20 to %x7E)". */
export function isPrintableAscii(c: string): boolean {
  return c >= ' ' && c <= '~';
}

/** RFC 8941 §4.2.3.3 as a whole-string test, for serializing keys and checking labels. */
export function isKey(text: string): boolean {
  if (text.length === 0 || !isKeyStart(text[0]!)) return false;
  for (let i = 1; i < text.length; i++) if (!isKeyChar(text[i]!)) return false;
  return true;
}

/** RFC 8941 §3.3.4: sf-token = ( ALPHA / "*" ) *( tchar / ":" / "/" ) */
export function isToken(text: string): boolean {
  if (text.length === 0 || !(isAlpha(text[0]!) || text[0] === '*')) return false;
  for (let i = 1; i < text.length; i++) {
    const c = text[i]!;
    if (!(isTchar(c) || c === ':' || c === '/')) return false;
  }
  return true;
}
