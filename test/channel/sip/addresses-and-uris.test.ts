import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hopOf, responseTarget, stampVia } from '@sideband/sip/protocol';
import { formatNameAddress, parseNameAddress, parseSipUri, uriUser, parseVia } from '@sideband/sip/wire';

const uri = (text: string) => {
  const r = parseSipUri(text);
  if (!r.ok) assert.fail(`${text}: ${r.detail}`);
  return r.value;
};
const address = (text: string) => {
  const r = parseNameAddress(text);
  if (!r.ok) assert.fail(`${text}: ${r.detail}`);
  return r.value;
};
const via = (text: string) => {
  const r = parseVia(text);
  if (!r.ok) assert.fail(`${text}: ${r.detail}`);
  return r.value;
};

describe('SIP URIs (RFC 3261 §19.1)', () => {
  it('reads a telephone-number user part, host, port and parameters', () => {
    const u = uri('sip:+4930123@192.0.2.7:5070;transport=tcp;lr');
    assert.equal(u.user, '+4930123');
    assert.equal(u.host, '192.0.2.7');
    assert.equal(u.port, 5070);
    assert.equal(u.params.get('transport'), 'tcp');
    assert.equal(u.params.get('lr'), null);
  });

  it('reads a URI without user, an IPv6 reference, and a sips: scheme', () => {
    assert.equal(uri('sip:exchange.example').user, null);
    assert.equal(uri('sip:[2001:db8::1]:5060').host, '2001:db8::1');
    assert.equal(uri('SIPS:alice@example.com').scheme, 'sips');
  });

  it('unescapes the user part and drops nothing of RFC 3261 §19.1.1 user-unreserved', () => {
    assert.equal(uri('sip:%2B1%20555@example.com').user, '+1 555');
    assert.equal(uri('sip:+1-212-555-1212;isub=1411@gateway.com;user=phone').user, '+1-212-555-1212;isub=1411');
  });

  it('refuses a bad port, a bad host, a bad escape or whitespace', () => {
    for (const bad of ['sip:a@b:0', 'sip:a@b:70000', 'sip:a@-bad-.com', 'sip:a@[::zz]', 'sip:a b@c', 'sip:a%zz@b', 'http://example.com', 'sip:']) {
      assert.equal(parseSipUri(bad).ok, false, bad);
    }
  });

  it('names the next hop: host and port, transport parameter, UDP and 5060 by default, no sips', () => {
    assert.deepEqual(hopOf('sip:+1@192.0.2.1:5070;transport=tcp'), { transport: 'TCP', host: '192.0.2.1', port: 5070 });
    assert.deepEqual(hopOf('sip:192.0.2.1'), { transport: 'UDP', host: '192.0.2.1', port: 5060 });
    assert.equal(hopOf('sips:192.0.2.1'), null);
    assert.equal(hopOf('sip:192.0.2.1;transport=sctp'), null);
  });
});

describe('name-addr and addr-spec (RFC 3261 §20.10)', () => {
  it('separates header parameters from URI parameters', () => {
    const inside = address('"Shop" <sip:+15550199@192.0.2.1;transport=tcp>;tag=abc;expires=60');
    assert.equal(inside.displayName, 'Shop');
    assert.equal(inside.params.get('tag'), 'abc');
    assert.equal(inside.uri.scheme !== 'tel' && inside.uri.params.get('transport'), 'tcp');
    // §20.10: without <>, the parameters belong to the header.
    const bare = address('sip:+15550199@192.0.2.1;tag=xyz');
    assert.equal(bare.params.get('tag'), 'xyz');
    assert.equal(bare.uri.scheme !== 'tel' && bare.uri.params.size, 0);
  });

  it('reads a quoted display name with escapes, and a tel: URI as P-Asserted-Identity may carry', () => {
    assert.equal(address('"A \\"quoted\\" name" <sip:a@b>').displayName, 'A "quoted" name');
    assert.equal(uriUser(address('<tel:+1-555-010-0>').uri), '+15550100');
  });

  it('formats with angle brackets, so that parameters cannot change owner', () => {
    assert.equal(formatNameAddress(address('sip:a@b;tag=1')), '<sip:a@b>;tag=1');
  });
});

describe('Via, received and rport (RFC 3261 §18.2, RFC 3581)', () => {
  const udpSource = { transport: 'UDP' as const, address: '198.51.100.7', port: 40404 };

  it('stamps received when sent-by differs from the source, and received plus rport when asked', () => {
    const stamped = stampVia(via('SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK1;rport'), udpSource);
    assert.equal(stamped.params.get('received'), '198.51.100.7');
    assert.equal(stamped.params.get('rport'), '40404');
    const same = stampVia(via('SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK1'), udpSource);
    assert.equal(same.params.has('received'), false);
    const named = stampVia(via('SIP/2.0/UDP pc33.example.com;branch=z9hG4bK1'), udpSource);
    assert.equal(named.params.get('received'), '198.51.100.7');
  });

  it('sends UDP responses to received:rport, else received:sent-by port, else sent-by', () => {
    assert.deepEqual(responseTarget(via('SIP/2.0/UDP 10.0.0.2:5060;received=198.51.100.7;rport=40404'), null), { transport: 'UDP', host: '198.51.100.7', port: 40404 });
    assert.deepEqual(responseTarget(via('SIP/2.0/UDP 10.0.0.2:5070;received=198.51.100.7'), null), { transport: 'UDP', host: '198.51.100.7', port: 5070 });
    assert.deepEqual(responseTarget(via('SIP/2.0/UDP 10.0.0.2'), null), { transport: 'UDP', host: '10.0.0.2', port: 5060 });
  });

  it('sends TCP responses on the connection the request came on', () => {
    const target = responseTarget(via('SIP/2.0/TCP 10.0.0.2:5070;received=198.51.100.7'), { transport: 'TCP', address: '198.51.100.7', port: 51000, connectionId: 9 });
    assert.deepEqual(target, { transport: 'TCP', host: '198.51.100.7', port: 5070, connectionId: 9 });
  });
});
