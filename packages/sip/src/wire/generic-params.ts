import { TOKEN } from './header-name.ts';
import { parsed, parseFailure, type Parsed } from './parse-failure.ts';

/**
 * Parameters after a URI, name-addr or Via: `*( SEMI generic-param )` (RFC 3261 §25.1),
 * `generic-param = token [ EQUAL gen-value ]`, `gen-value = token / host / quoted-string`.
 * Names are case-insensitive and stored lower-case; values are kept as sent (a quoted
 * value keeps its quotes, so that it is sent back unchanged). The first of a repeated
 * name wins.
 */
export type Params = ReadonlyMap<string, string | null>;

const MAX_PARAMS = 32;
// token plus the characters a host or an IPv6 reference adds (":", "[", "]").
const VALUE = /^[A-Za-z0-9.!%*_+`'~:[\]-]+$/;
// A URI's own parameters also allow param-unreserved "[ ] / : & + $" and escapes.
const URI_PARAM = /^(?:[A-Za-z0-9\-_.!~*'()[\]/:&+$]|%[0-9A-Fa-f]{2})+$/;

export function parseParams(text: string, kind: 'header' | 'uri' = 'header'): Parsed<Params> {
  const params = new Map<string, string | null>();
  let at = 0;
  const skipSpace = () => {
    while (at < text.length && (text[at] === ' ' || text[at] === '\t')) at++;
  };
  skipSpace();
  while (at < text.length) {
    if (text[at] !== ';') return parseFailure('params-invalid', `expected ";" at ${at}`);
    at++;
    skipSpace();
    let end = at;
    while (end < text.length && !';= \t'.includes(text[end]!)) end++;
    const name = text.slice(at, end);
    const nameOk = kind === 'uri' ? URI_PARAM.test(name) : TOKEN.test(name);
    if (!nameOk) return parseFailure('params-invalid', `parameter name ${JSON.stringify(name.slice(0, 40))}`);
    at = end;
    skipSpace();
    let value: string | null = null;
    if (text[at] === '=') {
      at++;
      skipSpace();
      if (text[at] === '"' && kind === 'header') {
        let close = at + 1;
        while (close < text.length && text[close] !== '"') close += text[close] === '\\' ? 2 : 1;
        if (close >= text.length) return parseFailure('params-invalid', `unterminated quoted value of ${name}`);
        value = text.slice(at, close + 1);
        at = close + 1;
      } else {
        let stop = at;
        while (stop < text.length && !'; \t'.includes(text[stop]!)) stop++;
        value = text.slice(at, stop);
        const valueOk = kind === 'uri' ? URI_PARAM.test(value) : VALUE.test(value);
        if (!valueOk) return parseFailure('params-invalid', `value of ${name}`);
        at = stop;
      }
      skipSpace();
    }
    if (params.size >= MAX_PARAMS) return parseFailure('params-invalid', `more than ${MAX_PARAMS} parameters`);
    const key = name.toLowerCase();
    if (!params.has(key)) params.set(key, value);
  }
  return parsed(params);
}

export function formatParams(params: Params): string {
  let out = '';
  for (const [name, value] of params) out += value === null ? `;${name}` : `;${name}=${value}`;
  return out;
}
