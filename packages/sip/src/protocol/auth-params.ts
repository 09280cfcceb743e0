import { parsed, parseFailure, type Parsed } from '../wire/parse-failure.ts';
import { unquote } from '../wire/split-list.ts';

/**
 * The parameters of a challenge or credentials header (RFC 3261 §25.1, RFC 2617 §1.2):
 * `auth-scheme LWS auth-param *(COMMA auth-param)`, `auth-param = token "=" ( token / quoted-string )`.
 * Names are stored lower-case, values unquoted.
 */
export interface AuthParams {
  readonly scheme: string;
  readonly params: ReadonlyMap<string, string>;
}

const MAX_LENGTH = 4096;

export function parseAuthParams(text: string): Parsed<AuthParams> {
  if (text.length > MAX_LENGTH) return parseFailure('params-invalid', `longer than ${MAX_LENGTH}`);
  const s = text.trim();
  const scheme = /^([A-Za-z0-9.!%*_+`'~-]+)[ \t]+/.exec(s);
  if (!scheme) return parseFailure('params-invalid', 'no auth-scheme');
  const params = new Map<string, string>();
  let at = scheme[0].length;
  while (at < s.length) {
    const name = /^[ \t]*([A-Za-z0-9.!%*_+`'~-]+)[ \t]*=[ \t]*/.exec(s.slice(at));
    if (!name) return parseFailure('params-invalid', `auth-param at ${at}`);
    at += name[0].length;
    let value: string;
    if (s[at] === '"') {
      let close = at + 1;
      while (close < s.length && s[close] !== '"') close += s[close] === '\\' ? 2 : 1;
      if (close >= s.length) return parseFailure('params-invalid', `unterminated quoted value of ${name[1]}`);
      value = unquote(s.slice(at, close + 1));
      at = close + 1;
    } else {
      const token = /^[^\s,]+/.exec(s.slice(at));
      if (!token) return parseFailure('params-invalid', `empty value of ${name[1]}`);
      value = token[0];
      at += value.length;
    }
    const key = name[1]!.toLowerCase();
    if (params.has(key)) return parseFailure('params-invalid', `${key} given twice`);
    params.set(key, value);
    const sep = /^[ \t]*(,|$)[ \t]*/.exec(s.slice(at));
    if (!sep) return parseFailure('params-invalid', `expected "," after ${key}`);
    at += sep[0].length;
  }
  return parsed({ scheme: scheme[1]!, params });
}
