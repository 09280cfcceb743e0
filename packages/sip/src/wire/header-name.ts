/**
 * Header field names: compact forms and the spelling Sideband sends. RFC 3261 §7.3.1:
 * "field names are always case-insensitive"; §7.3.3 lists the compact forms, and later RFCs
 * add a few more (RFC 6665 o/u, RFC 3515 r, RFC 3892 b, RFC 4028 x, RFC 3841 a/j/d).
 */
const compactForms: Readonly<Record<string, string>> = {
  i: 'call-id',
  m: 'contact',
  e: 'content-encoding',
  l: 'content-length',
  c: 'content-type',
  f: 'from',
  s: 'subject',
  k: 'supported',
  t: 'to',
  v: 'via',
  o: 'event',
  u: 'allow-events',
  r: 'refer-to',
  b: 'referred-by',
  x: 'session-expires',
  a: 'accept-contact',
  j: 'reject-contact',
  d: 'request-disposition',
};

// Names whose usual spelling is not plain Title-Case of their words.
const spellings = ['Call-ID', 'CSeq', 'WWW-Authenticate', 'MIME-Version', 'P-Asserted-Identity', 'P-Preferred-Identity'];
const spellingByKey = new Map(spellings.map((name) => [name.toLowerCase(), name]));

/** The lower-case full name a header is stored and looked up under. */
export function headerKey(name: string): string {
  const lower = name.toLowerCase();
  return compactForms[lower] ?? lower;
}

/** Both names of a header field: as sent (spelled as RFC 3261 §20 does) and as stored and looked up (key). */
export interface HeaderNames {
  readonly name: string;
  readonly key: string;
}

/**
 * Every field of every message, parsed or built, needs both names; the same dozen
 * spellings come in every message, and spelling one out (a regular expression with a
 * callback) was the SIP stack's costliest line. Remembered by spelling as received, up to
 * a bound: names come from the network, and a flood of invented ones must not grow memory.
 */
const namesBySpelling = new Map<string, HeaderNames>();
const REMEMBERED_SPELLINGS = 512;

export function headerNames(spelling: string): HeaderNames {
  let names = namesBySpelling.get(spelling);
  if (names === undefined) {
    const key = headerKey(spelling);
    names = { name: spellingByKey.get(key) ?? key.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase()), key };
    if (namesBySpelling.size < REMEMBERED_SPELLINGS) namesBySpelling.set(spelling, names);
  }
  return names;
}

// RFC 3261 §7.3.1: several values "MAY be combined into one header field row, separated
// by a comma" only where the grammar is a comma-separated list (#). Authorization and
// the *-Authenticate headers are not: their commas separate parameters.
const listHeaders = new Set([
  'via', 'route', 'record-route', 'contact', 'p-asserted-identity', 'p-preferred-identity', 'allow', 'supported', 'require', 'proxy-require',
  'unsupported', 'accept', 'accept-encoding', 'accept-language', 'content-encoding', 'allow-events', 'path', 'service-route', 'in-reply-to',
  'call-info', 'alert-info', 'error-info', 'warning',
]);

export const isListHeader = (key: string): boolean => listHeaders.has(key);

/** RFC 3261 §25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" ) */
export const TOKEN = /^[A-Za-z0-9.!%*_+`'~-]+$/;
