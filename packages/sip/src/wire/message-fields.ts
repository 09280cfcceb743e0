import { parseCSeq, type CSeq } from './cseq.ts';
import { parseNameAddress, type NameAddress } from './name-addr.ts';
import type { Parsed } from './parse-failure.ts';
import type { SipMessage } from './sip-message.ts';
import { parseVia, type Via } from './via.ts';

/**
 * Typed reads of the headers every message carries. parseMessage has checked each of them,
 * so on a parsed message (or one built by this codebase) they cannot fail; a failure means
 * code edited a header into something invalid, and is thrown as the bug it is.
 */
function must<T>(result: Parsed<T>, what: string): T {
  if (!result.ok) throw new Error(`${what} invalid after parsing: ${result.cause} (${result.detail})`);
  return result.value;
}

export function callIdOf(m: SipMessage): string {
  const callId = m.headers.get('Call-ID');
  if (callId === undefined) throw new Error('Call-ID missing after parsing');
  return callId;
}

export const cseqOf = (m: SipMessage): CSeq => must(parseCSeq(m.headers.get('CSeq') ?? ''), 'CSeq');
export const fromOf = (m: SipMessage): NameAddress => must(parseNameAddress(m.headers.get('From') ?? ''), 'From');
export const toOf = (m: SipMessage): NameAddress => must(parseNameAddress(m.headers.get('To') ?? ''), 'To');
export const viasOf = (m: SipMessage): Via[] => m.headers.getAll('Via').map((v) => must(parseVia(v), 'Via'));
export const topViaOf = (m: SipMessage): Via => must(parseVia(m.headers.getAll('Via')[0] ?? ''), 'Via');
export const tagOf = (address: NameAddress): string | null => address.params.get('tag') ?? null;
