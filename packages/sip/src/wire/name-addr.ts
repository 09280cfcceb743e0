import { formatParams, parseParams, type Params } from './generic-params.ts';
import { parsed, parseFailure, type Parsed } from './parse-failure.ts';
import { quote } from './split-list.ts';
import { formatUri, parseUri, type Uri } from './uri.ts';

/**
 * An address as From, To, Contact, Route, Record-Route and P-Asserted-Identity carry it
 * (RFC 3261 §20.10, §25.1): `( name-addr / addr-spec ) *( SEMI param )`, where
 * `name-addr = [ display-name ] LAQUOT addr-spec RAQUOT`.
 */
export interface NameAddress {
  readonly displayName: string | null;
  readonly uri: Uri;
  /** Header parameters (tag, expires, ...), not the URI's own. */
  readonly params: Params;
}

const MAX_LENGTH = 2048;

export function parseNameAddress(text: string): Parsed<NameAddress> {
  if (text.length > MAX_LENGTH) return parseFailure('address-invalid', `longer than ${MAX_LENGTH}`);
  const s = text.trim();
  let displayName: string | null = null;
  let uriText: string;
  let rest: string;

  let at = 0;
  if (s.startsWith('"')) {
    let close = 1;
    while (close < s.length && s[close] !== '"') close += s[close] === '\\' ? 2 : 1;
    if (close >= s.length) return parseFailure('address-invalid', 'unterminated display name');
    displayName = s.slice(1, close).replace(/\\(.)/g, '$1');
    at = close + 1;
    while (s[at] === ' ' || s[at] === '\t') at++;
    if (s[at] !== '<') return parseFailure('address-invalid', 'quoted display name not followed by "<"');
  }
  const lt = s.indexOf('<', at);
  if (lt >= 0) {
    if (displayName === null) {
      const words = s.slice(0, lt).trim();
      // display-name = *(token LWS) / quoted-string
      if (words !== '' && !/^[A-Za-z0-9.!%*_+`'~\- \t]+$/.test(words)) return parseFailure('address-invalid', 'display name');
      displayName = words === '' ? null : words.replace(/\s+/g, ' ');
    }
    const gt = s.indexOf('>', lt);
    if (gt < 0) return parseFailure('address-invalid', 'missing ">"');
    uriText = s.slice(lt + 1, gt);
    rest = s.slice(gt + 1);
  } else {
    // §20.10: without <>, "any semicolon-delimited parameters are header-parameters, not
    // URI parameters", so the URI ends at the first ";".
    const semi = s.indexOf(';');
    uriText = semi < 0 ? s : s.slice(0, semi);
    rest = semi < 0 ? '' : s.slice(semi);
    if (/[\s,?]/.test(uriText)) return parseFailure('address-invalid', 'addr-spec with whitespace, "," or "?" needs <>');
  }
  const uri = parseUri(uriText);
  if (!uri.ok) return parseFailure('address-invalid', uri.detail);
  const params = parseParams(rest);
  if (!params.ok) return parseFailure('address-invalid', params.detail);
  return parsed({ displayName, uri: uri.value, params: params.value });
}

/** Always the name-addr form, so URI parameters can never be mistaken for header ones. */
export function formatNameAddress(address: NameAddress): string {
  const name = address.displayName === null ? '' : `${quote(address.displayName)} `;
  return `${name}<${formatUri(address.uri)}>${formatParams(address.params)}`;
}

export function withParam(address: NameAddress, name: string, value: string | null): NameAddress {
  return { ...address, params: new Map([...address.params, [name, value]]) };
}
