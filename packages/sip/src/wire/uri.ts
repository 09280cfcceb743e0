import { parseFailure, type Parsed } from './parse-failure.ts';
import { formatSipUri, parseSipUri, type SipUri } from './sip-uri.ts';
import { parseTelUri, type TelUri } from './tel-uri.ts';

/** The URIs Sideband reads in addresses: SIP, SIPS and tel (RFC 3325 §9.1 allows all three). */
export type Uri = SipUri | TelUri;

export function parseUri(text: string): Parsed<Uri> {
  if (/^sips?:/i.test(text)) return parseSipUri(text);
  if (/^tel:/i.test(text)) return parseTelUri(text);
  return parseFailure('uri-invalid', 'scheme is not sip, sips or tel');
}

export function formatUri(uri: Uri): string {
  if (uri.scheme === 'tel') return `tel:${uri.number}${[...uri.params].map(([k, v]) => (v === null ? `;${k}` : `;${k}=${v}`)).join('')}`;
  return formatSipUri(uri);
}

/** The user part of a SIP URI or the number of a tel URI: the "number" of an address. */
export function uriUser(uri: Uri): string | null {
  return uri.scheme === 'tel' ? uri.number : uri.user;
}

