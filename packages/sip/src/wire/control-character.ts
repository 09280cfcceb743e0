/**
 * Whether text holds a control character (U+0000-U+001F, U+007F), optionally allowing
 * HTAB, which RFC 3261 §25.1 admits in LWS. A loop rather than a regular expression, whose
 * control-character ranges the linter rightly treats as a likely mistake.
 */
export function hasControlCharacter(text: string, allowHtab = false): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && !(allowHtab && c === 0x09)) || c === 0x7f) return true;
  }
  return false;
}
