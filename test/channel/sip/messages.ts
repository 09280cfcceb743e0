/** Joins lines with CRLF, the way messages travel (RFC 3261 §7). */
export const crlf = (...lines: string[]): Buffer => Buffer.from(lines.join('\r\n'), 'utf8');

/**
 * RFC 3261 §24.2 message F1: Alice's INVITE to the atlanta.com proxy. The RFC prints
 * Content-Length: 142, but its body is 145 octets with CRLF line ends; 145 is used here.
 */
export const rfc3261F1 = crlf(
  'INVITE sip:bob@biloxi.com SIP/2.0',
  'Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8',
  'Max-Forwards: 70',
  'To: Bob <sip:bob@biloxi.com>',
  'From: Alice <sip:alice@atlanta.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710',
  'CSeq: 314159 INVITE',
  'Contact: <sip:alice@pc33.atlanta.com>',
  'Content-Type: application/sdp',
  'Content-Length: 145',
  '',
  'v=0',
  'o=alice 2890844526 2890844526 IN IP4 pc33.atlanta.com',
  's=-',
  'c=IN IP4 pc33.atlanta.com',
  't=0 0',
  'm=audio 3456 RTP/AVP 0',
  'a=rtpmap:0 PCMU/8000',
  '',
);

/** RFC 3261 §24.2 message F6 as it reaches Alice: the 200 OK with two Record-Routes and three Vias. */
export const rfc3261F6 = crlf(
  'SIP/2.0 200 OK',
  'Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8;received=192.0.2.1',
  'Record-Route: <sip:ss2.biloxi.example.com;lr>, <sip:ss1.atlanta.example.com;lr>',
  'To: Bob <sip:bob@biloxi.com>;tag=a6c85cf',
  'From: Alice <sip:alice@atlanta.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710',
  'CSeq: 314159 INVITE',
  'Contact: <sip:bob@192.0.2.4>',
  'Content-Length: 0',
  '',
  '',
);

/** A minimal valid request to vary in tests: every header a request must have. */
export const minimalRequest = (overrides: Record<string, string> = {}, startLine = 'OPTIONS sip:+15550100@192.0.2.1 SIP/2.0'): Buffer => {
  const headers: Record<string, string> = {
    Via: 'SIP/2.0/UDP 192.0.2.2:5060;branch=z9hG4bK776asdhds',
    'Max-Forwards': '70',
    To: '<sip:+15550100@192.0.2.1>',
    From: '<sip:+15550199@192.0.2.1>;tag=1928301774',
    'Call-ID': 'a84b4c76e66710@192.0.2.2',
    CSeq: '1 OPTIONS',
    ...overrides,
  };
  return crlf(startLine, ...Object.entries(headers).filter(([, v]) => v !== '').map(([k, v]) => `${k}: ${v}`), 'Content-Length: 0', '', '');
};
