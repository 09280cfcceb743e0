/**
 * Header fields as a Node server or a client hands them over: names in any case, several
 * lines of one field either joined already or as an array (`IncomingMessage.headersDistinct`).
 */
export type HttpFields = Readonly<Record<string, string | readonly string[] | undefined>>;

/** The field lines of a message by lowercased field name, in the order given. */
export type FieldLines = ReadonlyMap<string, readonly string[]>;

/**
 * Groups field lines by name. RFC 9421 §2.1: "implementations MUST use lowercased field
 * names … when using them as component names", so two spellings of one name are one field.
 */
export function collectFieldLines(fields: HttpFields): FieldLines {
  const lines = new Map<string, string[]>();
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const key = name.toLowerCase();
    let list = lines.get(key);
    if (list === undefined) lines.set(key, (list = []));
    if (typeof value === 'string') list.push(value);
    else list.push(...value);
  }
  return lines;
}

/**
 * The component value of an HTTP field (RFC 9421 §2.1): each line with leading and
 * trailing whitespace stripped and obsolete line folding replaced by one space, then
 * "HTTP fields sent as multiple fields MUST be combined using a single comma (",") and a
 * single space (" ") between each item."
 */
export function canonicalFieldValue(lines: readonly string[]): string {
  return lines.map((line) => unfold(line).trim()).join(', ');
}

/**
 * RFC 9421 §2.1 step 3 (RFC 9112 §5.2): CRLF or LF followed by SP or HTAB becomes one SP,
 * with the whitespace around it. A CR or LF that is not such a fold is left in place, for
 * the caller to refuse (RFC 9421 §2: "Component values MUST NOT contain newline (`\n`)
 * characters"). A plain loop rather than a regular expression: the input is the peer's.
 */
function unfold(line: string): string {
  if (!line.includes('\n')) return line;
  let output = '';
  let i = 0;
  while (i < line.length) {
    const crlf = line[i] === '\r' && line[i + 1] === '\n' ? 2 : line[i] === '\n' ? 1 : 0;
    const next = line[i + crlf];
    if (crlf > 0 && (next === ' ' || next === '\t')) {
      output = output.trimEnd();
      i += crlf;
      while (line[i] === ' ' || line[i] === '\t') i++;
      output += ' ';
    } else {
      output += line[i];
      i++;
    }
  }
  return output;
}

/**
 * Whether a component value can stand in the signature base: RFC 9421 §2.5 "The signature
 * base is a US-ASCII string", and a field value line holds field-content (VCHAR, SP, HTAB).
 */
export function isSignatureBaseText(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (!(c === 0x09 || (c >= 0x20 && c <= 0x7e))) return false;
  }
  return true;
}
