/**
 * Splits a header value at the commas that separate list elements (RFC 3261 §7.3.1),
 * skipping commas inside quoted-strings (with their backslash escapes, §25.1) and inside
 * <...> (a name-addr's URI may hold commas in its headers part). Empty elements are dropped.
 */
export function splitList(value: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  let angle = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '<') angle = true;
    else if (c === '>') angle = false;
    else if (c === ',' && !angle) {
      push(value.slice(start, i));
      start = i + 1;
    }
  }
  push(value.slice(start));
  return out;

  function push(part: string): void {
    const trimmed = part.trim();
    if (trimmed !== '') out.push(trimmed);
  }
}

/** RFC 3261 §25.1 quoted-string: the content between the quotes with quoted-pairs undone. */
export function unquote(text: string): string {
  if (text.length < 2 || !text.startsWith('"') || !text.endsWith('"')) return text;
  return text.slice(1, -1).replace(/\\(.)/g, '$1');
}

export function quote(text: string): string {
  return `"${text.replace(/(["\\])/g, '\\$1')}"`;
}
