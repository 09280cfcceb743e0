import { headerKey, headerNames, isListHeader, TOKEN } from './header-name.ts';
import { splitList } from './split-list.ts';

export interface HeaderField {
  /** As sent: the canonical full name. */
  readonly name: string;
  /** Lower-case full name (compact forms expanded). */
  readonly key: string;
  readonly value: string;
}

/**
 * The header fields of one message, in order. Lookups are by any spelling or compact form
 * (RFC 3261 §7.3.1, §7.3.3). Order matters for Via, Route and Record-Route (§7.3.1: "the
 * relative order of header field rows with the same field name is important").
 */
export class SipHeaders {
  private fields: HeaderField[] = [];

  static of(entries: readonly (readonly [string, string])[]): SipHeaders {
    const headers = new SipHeaders();
    for (const [name, value] of entries) headers.append(name, value);
    return headers;
  }

  /** For the parser: the value is already unfolded and free of CR, LF and NUL. */
  static unchecked(fields: HeaderField[]): SipHeaders {
    const headers = new SipHeaders();
    headers.fields = fields;
    return headers;
  }

  /** The first field's value, whole (not split into list elements). */
  get(name: string): string | undefined {
    const key = headerKey(name);
    return this.fields.find((f) => f.key === key)?.value;
  }

  /** Every value, list headers split into their elements (RFC 3261 §7.3.1). */
  getAll(name: string): string[] {
    const key = headerKey(name);
    const values = this.fields.filter((f) => f.key === key).map((f) => f.value);
    return isListHeader(key) ? values.flatMap(splitList) : values;
  }

  /** How many field rows carry this name (for "appears once" checks). */
  count(name: string): number {
    const key = headerKey(name);
    return this.fields.reduce((n, f) => n + (f.key === key ? 1 : 0), 0);
  }

  has(name: string): boolean {
    return this.count(name) > 0;
  }

  append(name: string, value: string): this {
    this.fields.push(field(name, value));
    return this;
  }

  /** Adds before every other field of the same name (a proxy's Via and Record-Route, §16.6). */
  prepend(name: string, value: string): this {
    const f = field(name, value);
    const at = this.fields.findIndex((x) => x.key === f.key);
    if (at < 0) this.fields.push(f);
    else this.fields.splice(at, 0, f);
    return this;
  }

  set(name: string, value: string): this {
    const f = field(name, value);
    const at = this.fields.findIndex((x) => x.key === f.key);
    this.delete(name);
    if (at < 0) this.fields.push(f);
    else this.fields.splice(at, 0, f);
    return this;
  }

  delete(name: string): this {
    const key = headerKey(name);
    this.fields = this.fields.filter((f) => f.key !== key);
    return this;
  }

  /**
   * Removes the first list element of the first field with this name (the top Via a proxy
   * strips from a response, RFC 3261 §16.7 step 3; the top Route it consumes, §16.4).
   */
  removeFirst(name: string): string | undefined {
    const key = headerKey(name);
    const at = this.fields.findIndex((f) => f.key === key);
    if (at < 0) return undefined;
    const current = this.fields[at]!;
    const elements = isListHeader(key) ? splitList(current.value) : [current.value];
    const [first, ...rest] = elements;
    if (rest.length === 0) this.fields.splice(at, 1);
    else this.fields[at] = { ...current, value: rest.join(', ') };
    return first;
  }

  entries(): readonly HeaderField[] {
    return this.fields;
  }

  clone(): SipHeaders {
    return SipHeaders.unchecked([...this.fields]);
  }
}

function field(name: string, value: string): HeaderField {
  // Values come from our own code and from callers' extra headers: a CR or LF would let a
  // caller inject header lines, so both are refused here, once, for every path.
  if (!TOKEN.test(name)) throw new TypeError(`not a header name: ${JSON.stringify(name)}`);
  if (/[\r\n\0]/.test(value)) throw new TypeError(`header ${name} holds CR, LF or NUL`);
  const names = headerNames(name);
  return { name: names.name, key: names.key, value: value.trim() };
}
