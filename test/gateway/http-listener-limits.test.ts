import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startTestGateway, type TestGateway } from '../support/test-gateway.ts';

/** Sends raw bytes and collects what comes back until the server closes the connection. */
function exchange(hostPort: string, chunks: string[]): Promise<{ text: string; closedAfterMs: number }> {
  const [host, port] = [hostPort.slice(0, hostPort.lastIndexOf(':')), Number(hostPort.slice(hostPort.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect({ host, port }, () => {
      for (const c of chunks) socket.write(c);
    });
    let text = '';
    socket.on('data', (d) => (text += d.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve({ text, closedAfterMs: Date.now() - started }));
  });
}

const status = (text: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);

describe('every HTTP listener bounds headers, bodies and time', () => {
  let t: TestGateway;
  const listeners = () => ({ operator: t.gateway.listen.operatorHttp!, merchant: t.gateway.listen.merchantHttp! });

  before(async () => {
    t = await startTestGateway('sqlite', 'http-limits', { http: { headersTimeoutSeconds: 1, requestTimeoutSeconds: 2, keepAliveTimeoutSeconds: 1, maxHeaderBytes: 4096 } });
  });
  after(async () => t?.dispose());

  for (const which of ['operator', 'merchant'] as const) {
    it(`${which}: headers larger than http.maxHeaderBytes are refused with 431`, async () => {
      const r = await exchange(listeners()[which], [`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(5000)}\r\n\r\n`]);
      assert.equal(status(r.text), 431);
    });

    it(`${which}: a client that never finishes its headers gets 408 and is disconnected`, async () => {
      const r = await exchange(listeners()[which], ['GET /healthz HTTP/1.1\r\nHost: x\r\n']);
      assert.equal(status(r.text), 408);
    });

    it(`${which}: a body that never finishes arriving gets 408 and is disconnected`, async () => {
      const r = await exchange(listeners()[which], ['POST /v1/authorizations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{']);
      assert.equal(status(r.text), 408);
    });

    it(`${which}: an idle keep-alive connection is closed`, async () => {
      const r = await exchange(listeners()[which], ['GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n']);
      assert.ok(status(r.text) > 0, 'answered first');
    });
  }

  it('operator: a body over 64 KiB is refused with 413', async () => {
    const body = JSON.stringify({ pad: 'a'.repeat(70 * 1024) });
    const res = await fetch(`http://${t.gateway.listen.operatorHttp}/v1/authorizations/auth_x/approve`, { method: 'POST', headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' }, body });
    assert.equal(res.status, 413);
  });

  it('merchant: a body over 16 KiB is refused with 413 BODY_TOO_LARGE', async () => {
    const res = await fetch(`http://${t.gateway.listen.merchantHttp}/v1/authorizations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pad: 'a'.repeat(20 * 1024) }) });
    assert.equal(res.status, 413);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'BODY_TOO_LARGE');
  });

  it('operator: the Authorization scheme is matched case-insensitively (RFC 9110 §11.1)', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      const res = await fetch(`http://${t.gateway.listen.operatorHttp}/v1/merchants`, { headers: { authorization: `${scheme} ${t.token}` } });
      assert.equal(res.status, 200, scheme);
    }
    const wrong = await fetch(`http://${t.gateway.listen.operatorHttp}/v1/merchants`, { headers: { authorization: `Basic ${t.token}` } });
    assert.equal(wrong.status, 401);
  });
});
