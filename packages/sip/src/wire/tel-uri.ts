import { parseParams, type Params } from './generic-params.ts';
import { parsed, parseFailure, type Parsed } from './parse-failure.ts';

/**
 * A tel URI (RFC 3966 §3), as P-Asserted-Identity may carry one (RFC 3325 §9.1). The number
 * is kept without visual separators ("-", ".", "(", ")").
 */
export interface TelUri {
  readonly scheme: 'tel';
  readonly number: string;
  readonly params: Params;
}

export function parseTelUri(text: string): Parsed<TelUri> {
  const match = /^tel:(\+?[0-9A-Fa-f*#().-]{1,64})(;.*)?$/i.exec(text);
  if (!match) return parseFailure('uri-invalid', 'not a tel: URI');
  const number = match[1]!.replace(/[().-]/g, '');
  // RFC 3966 §5.1.4: a global number is "+" and digits; a local one needs phone-context.
  if (!/^\+?[0-9A-Fa-f*#]+$/.test(number)) return parseFailure('uri-invalid', 'tel number');
  const params = parseParams(match[2] ?? '', 'uri');
  if (!params.ok) return parseFailure('uri-invalid', params.detail);
  return parsed({ scheme: 'tel', number, params: params.value });
}
