import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseDigestChallenge, parseDigestCredentials } from '@sideband/sip/protocol';
import { parseSessionDescription, readTlsStream } from '@sideband/sip/sdp';
import { cseqOf, fromOf, toOf, viasOf, parseNameAddress, sipParseFailureCauses, parseMessage, serializeMessage, formatSipUri, parseSipUri, SipStreamFramer, parseVia } from '@sideband/sip/wire';
import { minimalRequest, rfc3261F1, rfc3261F6 } from './messages.ts';

/** Everything a parsed message offers: none of it may throw on what parseMessage accepted. */
function readEverything(bytes: Buffer): void {
  const result = parseMessage(bytes);
  if (!result.ok) {
    assert.ok(sipParseFailureCauses.includes(result.cause), `unlisted cause ${result.cause}`);
    return;
  }
  const m = result.message;
  cseqOf(m);
  fromOf(m);
  toOf(m);
  viasOf(m);
  parseMessage(serializeMessage(m));
}

const seeds = [rfc3261F1, rfc3261F6, minimalRequest()];

describe('codec properties', () => {
  it('reads any byte string as a message or a listed failure, without throwing', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => readEverything(Buffer.from(bytes))), { numRuns: 3000 });
  });

  it('survives mutations of valid messages: replaced octets, cuts and insertions', () => {
    const mutated = fc.tuple(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.constantFrom(0x00, 0x0a, 0x0d, 0x20, 0x22, 0x2c, 0x3a, 0x3b, 0x3c, 0x3e, 0x40, 0x5c, 0xff, 0x41)), { maxLength: 8 }), fc.nat(), fc.string({ maxLength: 20 }))
      .map(([seed, flips, cut, insert]) => {
        const buf = Buffer.from(seed);
        for (const [at, octet] of flips) buf[at % buf.length] = octet;
        const where = cut % (buf.length + 1);
        return Buffer.concat([buf.subarray(0, where), Buffer.from(insert), buf.subarray(where)]);
      });
    fc.assert(fc.property(mutated, readEverything), { numRuns: 5000 });
  });

  it('frames any chunking of a byte stream without throwing', () => {
    fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 10 }), fc.constantFrom(...seeds), (chunks, seed) => {
      const framer = new SipStreamFramer(2048);
      for (const c of [...chunks.map((x) => Buffer.from(x)), seed]) framer.push(c);
    }), { numRuns: 1000 });
  });

  it('never throws on arbitrary header values: URI, name-addr, Via, Digest, SDP', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (text) => {
      parseSipUri(text);
      parseSipUri(`sip:${text}`);
      parseNameAddress(text);
      parseNameAddress(`"${text}" <sip:${text}>;tag=${text}`);
      parseVia(`SIP/2.0/UDP ${text}`);
      parseDigestChallenge(`Digest ${text}`);
      parseDigestCredentials(`Digest username="${text}", ${text}`);
      parseSessionDescription(`v=0\r\no=- 1 1 IN IP4 ${text}\r\ns=-\r\nt=0 0\r\n${text}`);
      readTlsStream(`v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=application 9 TCP/TLS *\r\na=${text}\r\n`);
    }), { numRuns: 3000 });
  });

  it('formats SIP URIs that parse back to the same user, host, port and parameters', () => {
    const user = fc.string({ minLength: 1, maxLength: 20 });
    const host = fc.oneof(fc.ipV4(), fc.domain(), fc.ipV6());
    fc.assert(fc.property(user, host, fc.option(fc.integer({ min: 1, max: 65535 }), { nil: null }), (u, h, port) => {
      const text = formatSipUri({ scheme: 'sip', user: u, password: null, host: h, port, params: new Map([['transport', 'tcp']]), headers: null });
      const back = parseSipUri(text);
      assert.ok(back.ok, text);
      assert.equal(back.value.user, Buffer.from(u, 'utf8').toString('utf8'));
      assert.equal(back.value.host, h);
      assert.equal(back.value.port, port);
      assert.equal(back.value.params.get('transport'), 'tcp');
    }), { numRuns: 1000 });
  });
});
