import { TOKEN } from './header-name.ts';
import { parsed, parseFailure, type Parsed } from './parse-failure.ts';

/** RFC 3261 §20.16: `CSeq = "CSeq" HCOLON 1*DIGIT LWS Method`. */
export interface CSeq {
  readonly seq: number;
  readonly method: string;
}

/** RFC 3261 §8.1.1.5: "The sequence number value MUST be expressible as a 32-bit unsigned integer and MUST be less than 2**31." */
export const MAX_CSEQ = 2 ** 31 - 1;

export function parseCSeq(text: string): Parsed<CSeq> {
  const m = /^(\d{1,10})[ \t]+(\S+)$/.exec(text.trim());
  if (!m || !TOKEN.test(m[2]!)) return parseFailure('cseq-invalid', 'not "number method"');
  const seq = Number(m[1]);
  if (seq > MAX_CSEQ) return parseFailure('cseq-invalid', 'sequence number is 2**31 or more');
  return parsed({ seq, method: m[2]! });
}

export const formatCSeq = (cseq: CSeq): string => `${cseq.seq} ${cseq.method}`;
