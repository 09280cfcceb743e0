import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { verifyAccountingRequestAuthenticator } from '../../../src/aaa/protocol/accounting-request-authenticator.ts';
import { verifyChapPassword } from '../../../src/aaa/protocol/chap-password.ts';
import { encodeResponse } from '../../../src/aaa/protocol/encode-response.ts';
import { verifyMessageAuthenticator } from '../../../src/aaa/protocol/message-authenticator.ts';
import { recoverUserPassword } from '../../../src/aaa/protocol/user-password.ts';
import { AcctStatusType } from '../../../src/aaa/wire/attribute-values.ts';
import { decodePacket } from '../../../src/aaa/wire/decode-packet.ts';
import type { RadiusPacket } from '../../../src/aaa/wire/radius-packet.ts';
import { haveCommand } from '../../../scripts/debian-peers.js';

// FreeRADIUS's radclient as the NAS: it signs, hides and computes CHAP with FreeRADIUS's
// own code, and checks our Response Authenticator and Message-Authenticator the same way.

const haveRadclient = haveCommand('radclient');
const skip = haveRadclient ? false : 'radclient is not installed (Debian package freeradius-utils)';

const secret = 'loopback-interop-secret-7f3a';

interface Exchange {
  exitCode: number | null;
  output: string;
  received: RadiusPacket[];
}

/** Answers one datagram: returns the reply to send, or undefined to stay silent. */
type Responder = (request: RadiusPacket) => Buffer | undefined;

describe('interoperation with radclient', { skip }, () => {
  let socket: dgram.Socket;
  let respond: Responder = () => undefined;
  const received: RadiusPacket[] = [];

  before(async () => {
    socket = dgram.createSocket('udp4');
    // No assertions in here: a throw would escape the test that caused it. Tests check
    // `received` once radclient has exited.
    socket.on('message', (datagram, peer) => {
      const result = decodePacket(datagram);
      if (!result.ok) return;
      received.push(result.packet);
      const reply = respond(result.packet);
      if (reply !== undefined) socket.send(reply, peer.port, peer.address);
    });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  });

  after(() => socket.close());

  /** Runs radclient once against our socket with `input` on its stdin. */
  async function radclient(command: 'auth' | 'acct' | 'status', input: string, responder: Responder, timeoutSeconds = 2): Promise<Exchange> {
    respond = responder;
    received.length = 0;
    const { port } = socket.address();
    const child = spawn('radclient', ['-x', '-r', '1', '-t', String(timeoutSeconds), `127.0.0.1:${port}`, command, secret], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stdin.end(input);
    const exitCode = await new Promise<number | null>((resolve) => {
      const guard = setTimeout(() => child.kill('SIGKILL'), (timeoutSeconds + 8) * 1000);
      child.on('close', (code) => {
        clearTimeout(guard);
        resolve(code);
      });
    });
    return { exitCode, output, received: [...received] };
  }

  const welcome = (request: RadiusPacket) => encodeResponse({
    request,
    code: 'Access-Accept',
    secret,
    attributes: [{ name: 'Framed-IP-Address', value: '192.0.2.10' }, { name: 'Reply-Message', value: 'Welcome to Sideband' }],
  });

  /** The one request radclient sent (-r 1: no retransmission once answered). */
  function only(exchange: Exchange): RadiusPacket {
    assert.equal(exchange.received.length, 1, exchange.output);
    return exchange.received[0]!;
  }

  function assertAccepted(exchange: Exchange, code: string): void {
    assert.equal(exchange.exitCode, 0, exchange.output);
    assert.match(exchange.output, new RegExp(`Received ${code} Id \\d+`));
    assert.match(exchange.output, /Message-Authenticator = 0x[0-9a-f]{32}/);
  }

  it('PAP: verifies radclient\'s Message-Authenticator, recovers the password, and radclient accepts our Access-Accept', async () => {
    const exchange = await radclient('auth', 'User-Name = "alice", User-Password = "pap-pass-123", NAS-Port-Type = Ethernet, Message-Authenticator = 0x00\n', welcome);
    const request = only(exchange);
    assert.equal(verifyMessageAuthenticator(request, secret), 'valid');
    assert.deepEqual(recoverUserPassword(request.octets('User-Password')!, secret, request.authenticator), { ok: true, password: 'pap-pass-123' });
    assert.equal(request.text('User-Name'), 'alice');
    assert.equal(request.integer('NAS-Port-Type'), 15);
    assertAccepted(exchange, 'Access-Accept');
    assert.match(exchange.output, /Framed-IP-Address = 192\.0\.2\.10/);
    assert.match(exchange.output, /Reply-Message = "Welcome to Sideband"/);
  });

  it('CHAP: verifies the CHAP-Password radclient computed over the Request Authenticator', async () => {
    const exchange = await radclient('auth', 'User-Name = "bob", CHAP-Password = "chap-pass-123", Message-Authenticator = 0x00\n', welcome);
    const request = only(exchange);
    assert.equal(verifyMessageAuthenticator(request, secret), 'valid');
    assert.equal(verifyChapPassword(request, 'chap-pass-123'), 'valid');
    assert.equal(verifyChapPassword(request, 'chap-pass-124'), 'invalid');
    assertAccepted(exchange, 'Access-Accept');
    assert.match(exchange.output, /Framed-IP-Address = 192\.0\.2\.10/);
  });

  it('radclient reads our Access-Reject (and exits 1, having expected an Accept)', async () => {
    const exchange = await radclient('auth', 'User-Name = "carol", User-Password = "wrong-pass"\n', (request) =>
      encodeResponse({ request, code: 'Access-Reject', secret, attributes: [{ name: 'Reply-Message', value: 'Authentication failed' }] }));
    // Without the explicit attribute in its input, radclient 3.2 sends no Message-Authenticator.
    assert.equal(verifyMessageAuthenticator(only(exchange), secret), 'absent');
    assert.equal(exchange.exitCode, 1);
    assert.match(exchange.output, /Received Access-Reject Id \d+/);
    assert.match(exchange.output, /Reply-Message = "Authentication failed"/);
  });

  it('Accounting: verifies the Request Authenticator and the zero-based Message-Authenticator; radclient accepts our signed Accounting-Response', async () => {
    const exchange = await radclient('acct', 'User-Name = "alice", Acct-Status-Type = Start, Acct-Session-Id = "0000002a", Framed-IP-Address = 192.0.2.10, Message-Authenticator = 0x00\n', (request) =>
      encodeResponse({ request, code: 'Accounting-Response', secret }));
    const request = only(exchange);
    assert.ok(verifyAccountingRequestAuthenticator(request, secret));
    assert.equal(verifyMessageAuthenticator(request, secret), 'valid');
    assert.equal(request.integer('Acct-Status-Type'), AcctStatusType.Start);
    assert.equal(request.text('Acct-Session-Id'), '0000002a');
    assert.equal(request.ipv4('Framed-IP-Address'), '192.0.2.10');
    assertAccepted(exchange, 'Accounting-Response');
  });

  it('Accounting without Message-Authenticator, as radclient sends by default', async () => {
    const exchange = await radclient('acct', 'User-Name = "alice", Acct-Status-Type = Stop, Acct-Session-Time = 3600, Acct-Input-Octets = 1048576\n', (request) =>
      encodeResponse({ request, code: 'Accounting-Response', secret }));
    const request = only(exchange);
    assert.ok(verifyAccountingRequestAuthenticator(request, secret));
    assert.equal(verifyMessageAuthenticator(request, secret), 'absent');
    assert.equal(request.integer('Acct-Input-Octets'), 1048576);
    assertAccepted(exchange, 'Accounting-Response');
  });

  it('Status-Server: radclient accepts our Access-Accept', async () => {
    const exchange = await radclient('status', 'Message-Authenticator = 0x00\n', (request) => encodeResponse({ request, code: 'Access-Accept', secret }));
    const request = only(exchange);
    assert.equal(request.code, 'Status-Server');
    assert.equal(verifyMessageAuthenticator(request, secret), 'valid');
    assertAccepted(exchange, 'Access-Accept');
  });

  it('radclient discards an Access-Accept signed with the wrong secret', async () => {
    const exchange = await radclient('auth', 'User-Name = "mallory", User-Password = "pap-pass-123", Message-Authenticator = 0x00\n', (request) =>
      encodeResponse({ request, code: 'Access-Accept', secret: 'not-the-shared-secret' }), 1);
    assert.equal(exchange.exitCode, 1, exchange.output);
    assert.doesNotMatch(exchange.output, /Received Access-Accept/);
    assert.match(exchange.output, /invalid Message-Authenticator/);
  });

  it('radclient discards an Accounting-Response signed with the wrong secret', async () => {
    const exchange = await radclient('acct', 'User-Name = "mallory", Acct-Status-Type = Start\n', (request) =>
      encodeResponse({ request, code: 'Accounting-Response', secret: 'not-the-shared-secret' }), 1);
    assert.equal(exchange.exitCode, 1, exchange.output);
    assert.doesNotMatch(exchange.output, /Received Accounting-Response/);
  });
});
