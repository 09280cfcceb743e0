import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cseqOf, fromOf, tagOf, toOf, topViaOf, viasOf, parseMessage, serializeMessage, SipHeaders } from '@sideband/sip/wire';
import { crlf, minimalRequest, rfc3261F1, rfc3261F6 } from './messages.ts';

const parse = (bytes: Buffer) => {
  const result = parseMessage(bytes);
  if (!result.ok) assert.fail(`${result.cause}: ${result.detail}`);
  return result.message;
};

const failure = (bytes: Buffer, options?: Parameters<typeof parseMessage>[1]) => {
  const result = parseMessage(bytes, options);
  assert.equal(result.ok, false, 'expected a parse failure');
  return result.ok ? '' : result.cause;
};

describe('RFC 3261 §24 examples', () => {
  it('reads F1, the INVITE, with its body framed by Content-Length', () => {
    const m = parse(rfc3261F1);
    assert.equal(m.kind, 'request');
    if (m.kind !== 'request') return;
    assert.equal(m.method, 'INVITE');
    assert.equal(m.uri, 'sip:bob@biloxi.com');
    assert.deepEqual(cseqOf(m), { seq: 314159, method: 'INVITE' });
    assert.equal(tagOf(fromOf(m)), '1928301774');
    assert.equal(fromOf(m).displayName, 'Alice');
    assert.equal(tagOf(toOf(m)), null);
    assert.equal(topViaOf(m).host, 'pc33.atlanta.com');
    assert.equal(topViaOf(m).params.get('branch'), 'z9hG4bKnashds8');
    assert.equal(m.body.length, 145);
    assert.match(m.body.toString(), /^v=0\r\n/);
  });

  it('reads F6, the 200, splitting the comma-separated Record-Route in order', () => {
    const m = parse(rfc3261F6);
    assert.equal(m.kind, 'response');
    if (m.kind !== 'response') return;
    assert.equal(m.status, 200);
    assert.equal(m.reason, 'OK');
    assert.deepEqual(m.headers.getAll('Record-Route'), ['<sip:ss2.biloxi.example.com;lr>', '<sip:ss1.atlanta.example.com;lr>']);
    assert.equal(topViaOf(m).params.get('received'), '192.0.2.1');
    assert.equal(tagOf(toOf(m)), 'a6c85cf');
  });

  it('serializes what it parsed to bytes that parse to the same message', () => {
    for (const bytes of [rfc3261F1, rfc3261F6]) {
      const first = parse(bytes);
      const again = parse(serializeMessage(first));
      assert.deepEqual(again.headers.entries(), first.headers.entries());
      assert.deepEqual(again.body, first.body);
    }
  });
});

describe('header names, compact forms and values (RFC 3261 §7.3)', () => {
  it('expands compact forms i f t v m l c k and matches names case-insensitively', () => {
    const m = parse(crlf(
      'INVITE sip:+4930123@192.0.2.1 SIP/2.0',
      'v: SIP/2.0/TCP 192.0.2.2:5070;branch=z9hG4bKabc',
      'f: <sip:+15550199@192.0.2.1>;tag=x1',
      't: <sip:+4930123@192.0.2.1>',
      'i: 1234@192.0.2.2',
      'MAX-forwards: 69',
      'cseq: 7 INVITE',
      'm: <sip:+15550199@192.0.2.2:5070;transport=tcp>',
      'k: timer',
      'c: application/sdp',
      'l: 4',
      '',
      'v=0\n',
    ));
    assert.equal(m.headers.get('Call-ID'), '1234@192.0.2.2');
    assert.equal(m.headers.get('Max-Forwards'), '69');
    assert.equal(m.headers.get('supported'), 'timer');
    assert.equal(m.headers.get('Content-Type'), 'application/sdp');
    assert.equal(topViaOf(m).transport, 'TCP');
    assert.equal(m.body.toString(), 'v=0\n');
    assert.match(serializeMessage(m).toString(), /\r\nCall-ID: 1234@192.0.2.2\r\n/);
  });

  it('spells and finds every header the same way before and after a flood of invented names fills what is remembered', () => {
    const namesIn = (late: string) => {
      const m = parse(crlf('OPTIONS sip:+15550100@192.0.2.1 SIP/2.0', 'v: SIP/2.0/UDP 192.0.2.3;branch=z9hG4bKtop', 'To: <sip:+15550100@192.0.2.1>', 'FROM: <sip:+15550199@192.0.2.1>;tag=1', 'call-id: c1', 'cseq: 1 OPTIONS', 'www-authenticate: Digest realm="r"', `${late}: z`, 'Content-Length: 0', '', ''));
      assert.equal(m.headers.get('Call-ID'), 'c1');
      assert.equal(m.headers.get('x-late-Name'), 'z');
      return m.headers.entries().map((f) => `${f.name}|${f.key}`);
    };
    const expected = ['Via|via', 'To|to', 'From|from', 'Call-ID|call-id', 'CSeq|cseq', 'WWW-Authenticate|www-authenticate', 'X-Late-Name|x-late-name', 'Content-Length|content-length'];
    assert.deepEqual(namesIn('x-late-NAME'), expected);
    // More invented names than are remembered (the parser reads every name before it looks for the required ones).
    for (let i = 0; i < 40; i++) parseMessage(crlf('OPTIONS sip:a@192.0.2.1 SIP/2.0', ...Array.from({ length: 30 }, (_, j) => `X-Flood-${i}-${j}: v`), 'Content-Length: 0', '', ''));
    assert.deepEqual(namesIn('x-late-NAME'), expected);
    assert.deepEqual(namesIn('X-LATE-name'), expected, 'a spelling first seen after the flood');
  });

  it('unfolds continuation lines and keeps several Via rows in order', () => {
    const m = parse(crlf(
      'OPTIONS sip:+15550100@192.0.2.1 SIP/2.0',
      'Via: SIP/2.0/UDP 192.0.2.3;branch=z9hG4bKtop,',
      '  SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKmid',
      'Via: SIP/2.0/UDP 192.0.2.5;branch=z9hG4bKlast',
      'To: <sip:+15550100@192.0.2.1>',
      'From: <sip:+15550199@192.0.2.1>;tag=1',
      'Subject: a long',
      '\tsubject',
      'Call-ID: c1',
      'CSeq: 1 OPTIONS',
      'Content-Length: 0',
      '',
      '',
    ));
    assert.deepEqual(viasOf(m).map((v) => v.host), ['192.0.2.3', '192.0.2.4', '192.0.2.5']);
    assert.equal(m.headers.get('Subject'), 'a long subject');
  });

  it('reads RFC 3581 rport as a flag in requests and a number in responses', () => {
    const request = parse(minimalRequest({ Via: 'SIP/2.0/UDP 10.0.0.1:5060;rport;branch=z9hG4bKr' }));
    assert.equal(topViaOf(request).params.get('rport'), null);
    assert.ok(topViaOf(request).params.has('rport'));
    const response = parse(crlf('SIP/2.0 200 OK', 'Via: SIP/2.0/UDP 10.0.0.1:5060;rport=40123;received=192.0.2.9;branch=z9hG4bKr', 'To: <sip:a@b>;tag=2', 'From: <sip:c@b>;tag=1', 'Call-ID: x', 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', ''));
    assert.equal(topViaOf(response).params.get('rport'), '40123');
    assert.equal(topViaOf(response).params.get('received'), '192.0.2.9');
  });

  it('refuses a header name or value that would inject lines when building', () => {
    assert.throws(() => new SipHeaders().append('X-Bad', 'a\r\nVia: injected'), /CR, LF/);
    assert.throws(() => new SipHeaders().append('Bad Name', 'x'), /not a header name/);
  });
});

describe('RFC 4475 torture tests (by their names): valid messages', () => {
  it('intmeth: a method made of every token character, with a matching CSeq', () => {
    const method = "!interesting-Method0123456789_*+`.%indeed'~";
    const m = parse(minimalRequest({ CSeq: `139122385 ${method}` }, `${method} sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com SIP/2.0`));
    assert.equal(m.kind === 'request' && m.method, method);
  });

  it('esc01: escaped characters in the Request-URI user part', () => {
    const m = parse(minimalRequest({}, 'OPTIONS sip:sips%3Auser%40example.com@example.net SIP/2.0'));
    assert.equal(m.kind === 'request' && m.uri, 'sip:sips%3Auser%40example.com@example.net');
  });

  it('lwsdisp: a display name run into its <addr-spec>', () => {
    const m = parse(minimalRequest({ From: 'caller<sip:caller@example.com>;tag=323' }));
    assert.equal(fromOf(m).displayName, 'caller');
    assert.equal(tagOf(fromOf(m)), '323');
  });

  it('semiuri: a user part holding a semicolon', () => {
    const m = parse(minimalRequest({}, 'OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0'));
    assert.equal(m.kind, 'request');
  });

  it('noreason: a response with an empty reason phrase', () => {
    const m = parse(crlf('SIP/2.0 100 ', 'Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe', 'Call-ID: noreason.asndj203insdf99223ndf', 'CSeq: 35 INVITE', 'From: <sip:user@example.com>;tag=39ansfi3', 'To: <sip:user@example.edu>;tag=902jndnke3', 'Content-Length: 0', '', ''));
    assert.equal(m.kind === 'response' && m.reason, '');
  });

  it('unreason: a reason phrase in UTF-8', () => {
    const m = parse(crlf('SIP/2.0 200 = 2**3 * 5**2 но сто девяносто девять - простое', 'Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923', 'Call-ID: unreason.1234ksdfak3j2erwedfsASdf', 'CSeq: 35 INVITE', 'From: sip:user@example.com;tag=11141343', 'To: sip:user@example.edu;tag=2229', 'Content-Length: 0', '', ''));
    assert.equal(m.kind === 'response' && m.reason, '= 2**3 * 5**2 но сто девяносто девять - простое');
    assert.equal(tagOf(fromOf(m)), '11141343');
  });

  it('wsinv: LWS around the Via slashes and before parameters', () => {
    const m = parse(minimalRequest({ Via: 'SIP  /   2.0  /  UDP  192.0.2.2 ;branch=z9hG4bKkdjuw' }));
    assert.equal(topViaOf(m).transport, 'UDP');
    assert.equal(topViaOf(m).params.get('branch'), 'z9hG4bKkdjuw');
  });
});

describe('RFC 4475 torture tests (by their names): invalid messages fail with a specific cause', () => {
  const cases: [string, Buffer, string][] = [
    ['clerr: Content-Length larger than the datagram', crlf('INVITE sip:user@example.com SIP/2.0', 'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1', 'Max-Forwards: 70', 'From: <sip:a@b>;tag=1', 'To: <sip:user@example.com>', 'Call-ID: clerr', 'CSeq: 1 INVITE', 'Content-Length: 9999', '', 'v=0'), 'body-truncated'],
    ['ncl: a negative Content-Length', crlf('OPTIONS sip:a@b SIP/2.0', 'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1', 'From: <sip:a@b>;tag=1', 'To: <sip:a@b>', 'Call-ID: ncl', 'CSeq: 1 OPTIONS', 'Content-Length: -999', '', ''), 'content-length-invalid'],
    ['scalar02: a CSeq number of 2**65', minimalRequest({ CSeq: '36893488147419103232 OPTIONS' }), 'cseq-invalid'],
    ['scalar02: Max-Forwards of 300', minimalRequest({ 'Max-Forwards': '300' }), 'max-forwards-invalid'],
    ['quotbal: an unterminated quoted display name', minimalRequest({ To: '"Mr. J. User <sip:j.user@example.com>' }), 'to-invalid'],
    ['ltgtruri: a Request-URI in angle brackets', minimalRequest({}, 'OPTIONS <sip:user@example.com> SIP/2.0'), 'request-uri-invalid'],
    ['lwsruri: a Request-URI with embedded LWS', minimalRequest({}, 'OPTIONS sip:user@example.com; lr SIP/2.0'), 'start-line-malformed'],
    ['badvers: SIP version 7.0', minimalRequest({}, 'OPTIONS sip:t.watson@example.org SIP/7.0'), 'version-unsupported'],
    ['mismatch01: CSeq method unlike the request method', minimalRequest({ CSeq: '1 INVITE' }), 'cseq-method-mismatch'],
    ['multi01: two different To values', crlf('OPTIONS sip:a@b SIP/2.0', 'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1', 'From: <sip:a@b>;tag=1', 'To: <sip:a@b>', 'To: <sip:c@d>', 'Call-ID: m', 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', ''), 'header-duplicated'],
    ['insuf: no Call-ID', minimalRequest({ 'Call-ID': '' }), 'header-missing'],
    ['lwsstart: several spaces between Request-Line elements', minimalRequest({}, 'OPTIONS  sip:user@example.com SIP/2.0'), 'start-line-malformed'],
    ['trws: a space at the end of the Request-Line', minimalRequest({}, 'OPTIONS sip:user@example.com SIP/2.0 '), 'start-line-malformed'],
    ['bigcode: a status code of 4294967301', crlf('SIP/2.0 4294967301 better not break the receiver', 'Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe', 'Call-ID: bigcode.asdof3uj203asdnf3429uasdhfas3', 'CSeq: 353494 INVITE', 'From: <sip:user@example.com>;tag=39ansfi3', 'To: <sip:user@example.edu>;tag=902jndnke3', 'Content-Length: 0', '', ''), 'start-line-malformed'],
    ['a header line without a colon', crlf('OPTIONS sip:a@b SIP/2.0', 'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1', 'From <sip:a@b>;tag=1', '', ''), 'header-malformed'],
    ['a continuation line first', crlf('OPTIONS sip:a@b SIP/2.0', ' Via: SIP/2.0/UDP 192.0.2.1', '', ''), 'header-folding-invalid'],
    ['no empty line after the headers', Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP x'), 'head-unterminated'],
    ['a NUL in a header', minimalRequest({ Subject: 'a\u0000b' }), 'control-character'],
    ['a header section that is not UTF-8', Buffer.concat([minimalRequest().subarray(0, 30), Buffer.from([0xff, 0xfe]), minimalRequest().subarray(30)]), 'encoding-invalid'],
    ['a Via without a sent-by', minimalRequest({ Via: 'SIP/2.0/UDP' }), 'via-invalid'],
    ['a status code of 999', crlf('SIP/2.0 999 Odd', 'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1', 'From: <sip:a@b>;tag=1', 'To: <sip:a@b>', 'Call-ID: s', 'CSeq: 1 OPTIONS', '', ''), 'start-line-malformed'],
  ];
  for (const [name, bytes, cause] of cases) {
    it(name, () => assert.equal(failure(bytes), cause));
  }

  it('refuses a message over the size limit before reading it', () => {
    assert.equal(failure(minimalRequest(), { maxMessageSize: 100 }), 'message-too-large');
  });

  it('requires Content-Length on a stream transport', () => {
    assert.equal(failure(crlf('OPTIONS sip:a@b SIP/2.0', 'Via: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bK1', 'From: <sip:a@b>;tag=1', 'To: <sip:a@b>', 'Call-ID: s', 'CSeq: 1 OPTIONS', '', ''), { stream: true }), 'content-length-missing');
  });
});
