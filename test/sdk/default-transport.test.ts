import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { after, afterEach, before, describe, it } from 'node:test';
import { SidebandApiError, SidebandClient, verifyRequestSignature, type SidebandClientOptions } from '@sideband/merchant-sdk';
import { testCertificates, type TestCertificates } from '../support/test-certificates.ts';

/**
 * The SDK's default transport (node:http/https through keep-alive agents the client owns),
 * against real servers on loopback: what it sends and signs, how it reads answers, errors,
 * retries and timeouts, connectUrl, https with the default trust store, and that a script
 * using it exits on its own.
 */
const root = new URL('../..', import.meta.url).pathname;
const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

interface Seen {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  socket: Socket;
}

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;

const servers: Server[] = [];

/** A loopback HTTP server answering with `handler`; every request it read is in `seen`. */
async function serve(handler: Handler): Promise<{ url: string; seen: Seen[]; server: Server }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method!, path: req.url!, headers: req.headers, body, socket: req.socket });
      handler(req, res, seen.length);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
};

const authorization = { id: 'auth_1', status: 'approved', amount: 1999, currency: 'EUR' };
const purchase = { customer: { address: '203.0.113.7', port: 50000 }, amount: 1999, currency: 'EUR', description: 'A book', capture: 'manual' as const };

const client = (baseUrl: string, o: Partial<SidebandClientOptions> = {}) => new SidebandClient({ baseUrl, keyId: 'shop-key', privateKey: pem, ...o });

/** The request as the gateway verifies it: signed for `origin`, whatever address it came to. */
const verify = (s: Seen, origin: string) =>
  verifyRequestSignature(
    { method: s.method, url: `${origin}${s.path}`, headers: s.headers, body: s.body },
    { resolveKey: (keyid) => (keyid === 'shop-key' ? publicKey : null), requiredComponents: s.method === 'POST' ? ['@method', '@target-uri', 'content-digest', 'idempotency-key'] : ['@method', '@target-uri', 'content-digest'] },
  );

const clients: SidebandClient[] = [];
const track = (c: SidebandClient) => (clients.push(c), c);

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});
after(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

describe('the default transport', () => {
  it('sends a purchase as a signed JSON POST and returns the 201 answer, over one kept-alive connection', async () => {
    const { url, seen } = await serve((_req, res) => json(res, 201, authorization));
    const c = track(client(url));
    assert.deepEqual(await c.authorizations.create(purchase, { idempotencyKey: 'order-17-authorize' }), authorization);
    await c.authorizations.create(purchase);
    const [first, second] = seen;
    assert.equal(first!.method, 'POST');
    assert.equal(first!.path, '/v1/authorizations');
    assert.deepEqual(JSON.parse(first!.body), purchase);
    assert.equal(first!.headers['content-type'], 'application/json');
    assert.equal(first!.headers.accept, 'application/json');
    assert.equal(first!.headers['content-length'], String(Buffer.byteLength(first!.body)));
    assert.equal(first!.headers['idempotency-key'], 'order-17-authorize');
    assert.match(second!.headers['idempotency-key'] as string, /^[0-9a-f-]{36}$/);
    // Not asked for, so a proxy cannot compress what the SDK would then not decode.
    assert.equal(first!.headers['accept-encoding'], undefined);
    const verified = await verify(first!, url);
    assert.ok(verified.ok, JSON.stringify(verified));
    assert.equal(second!.socket, first!.socket, 'the second request reuses the first one\'s connection');
  });

  it('reads a GET answer and signs it without an idempotency key', async () => {
    const { url, seen } = await serve((_req, res) => json(res, 200, authorization));
    const c = track(client(url));
    assert.deepEqual(await c.authorizations.retrieve('auth_1'), authorization);
    assert.equal(seen[0]!.method, 'GET');
    assert.equal(seen[0]!.path, '/v1/authorizations/auth_1');
    assert.equal(seen[0]!.headers['idempotency-key'], undefined);
    assert.equal(seen[0]!.headers['content-type'], undefined);
    assert.ok((await verify(seen[0]!, url)).ok);
  });

  it('throws SidebandApiError with the answer\'s status, code, type, message and param; a body that is not JSON is INTERNAL', async () => {
    const { url } = await serve((req, res) => {
      if (req.url!.endsWith('/captures')) json(res, 422, { error: { type: 'invalid_request', code: 'CAPTURE_EXCEEDS_AUTHORIZED', message: 'More than authorized', param: 'amount' } });
      else res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>Bad gateway</h1>');
    });
    const c = track(client(url, { maxRetries: 0 }));
    const e = await c.authorizations.capture('auth_1', { amount: 5000 }).catch((x: unknown) => x);
    assert.ok(e instanceof SidebandApiError);
    assert.deepEqual({ status: e.status, code: e.code, type: e.type, message: e.message, param: e.param, name: e.name }, { status: 422, code: 'CAPTURE_EXCEEDS_AUTHORIZED', type: 'invalid_request', message: 'More than authorized', param: 'amount', name: 'SidebandApiError' });
    const g = await c.authorizations.retrieve('auth_1').catch((x: unknown) => x);
    assert.ok(g instanceof SidebandApiError);
    assert.deepEqual({ status: g.status, code: g.code, message: g.message }, { status: 502, code: 'INTERNAL', message: 'HTTP 502' });
  });

  it('retries after a 503, as Retry-After says, with the same idempotency key and a fresh signature', async () => {
    const { url, seen } = await serve((_req, res, n) => {
      if (n === 1) json(res, 503, { error: { type: 'internal', code: 'UNAVAILABLE', message: 'Try again' } }, { 'retry-after': '0' });
      else json(res, 201, authorization);
    });
    const c = track(client(url, { maxRetries: 1 }));
    assert.deepEqual(await c.authorizations.create(purchase), authorization);
    assert.equal(seen.length, 2);
    assert.equal(seen[1]!.headers['idempotency-key'], seen[0]!.headers['idempotency-key']);
    assert.notEqual(seen[1]!.headers.signature, seen[0]!.headers.signature);
    assert.ok((await verify(seen[1]!, url)).ok);
  });

  it('retries after the connection drops without an answer; without retries the error is fetch\'s: TypeError with cause.code', async () => {
    const dropFirst = await serve((req, res, n) => (n === 1 ? req.socket.destroy() : json(res, 201, authorization)));
    const c = track(client(dropFirst.url, { maxRetries: 1 }));
    assert.deepEqual(await c.authorizations.create(purchase), authorization);
    assert.equal(dropFirst.seen.length, 2);
    assert.equal(dropFirst.seen[1]!.headers['idempotency-key'], dropFirst.seen[0]!.headers['idempotency-key']);

    const dropAll = await serve((req) => req.socket.destroy());
    const e = (await track(client(dropAll.url, { maxRetries: 0 })).authorizations.create(purchase).catch((x: unknown) => x)) as TypeError & { cause?: { code?: string } };
    assert.ok(e instanceof TypeError);
    assert.equal(e.message, 'fetch failed');
    assert.equal(e.cause?.code, 'ECONNRESET');

    const closed = await serve(() => {});
    closed.server.close();
    await new Promise((r) => closed.server.once('close', r));
    const refused = (await track(client(closed.url, { maxRetries: 0 })).webhookKeys().catch((x: unknown) => x)) as TypeError & { cause?: { code?: string } };
    assert.ok(refused instanceof TypeError);
    assert.equal(refused.cause?.code, 'ECONNREFUSED');
  });

  it('a dropped connection while the answer is read is a TypeError with cause.code, not retried (as with fetch)', async () => {
    const { url, seen } = await serve((req, res) => {
      res.writeHead(201, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"id":');
      setTimeout(() => req.socket.destroy(), 50);
    });
    const e = (await track(client(url, { maxRetries: 2 })).authorizations.create(purchase).catch((x: unknown) => x)) as TypeError & { cause?: { code?: string } };
    assert.ok(e instanceof TypeError, String(e));
    assert.equal(typeof e.cause?.code, 'string');
    assert.equal(seen.length, 1);
  });

  it('gives up after timeoutMs with a TimeoutError and closes the connection, whether the answer never starts or stalls midway', async () => {
    const closedSockets: Socket[] = [];
    const { url, seen } = await serve((req, res, n) => {
      req.socket.once('close', () => closedSockets.push(req.socket));
      if (n === 2) res.writeHead(201, { 'content-type': 'application/json', 'content-length': '1000' }).write('{"id":');
    });
    const c = track(client(url, { maxRetries: 0, timeoutMs: 300 }));
    const t0 = Date.now();
    const silent = (await c.authorizations.create(purchase).catch((x: unknown) => x)) as Error;
    assert.equal(silent.name, 'TimeoutError');
    assert.ok(silent instanceof DOMException);
    assert.ok(Date.now() - t0 < 5000);
    const stalled = (await c.authorizations.create(purchase).catch((x: unknown) => x)) as Error;
    assert.equal(stalled.name, 'TimeoutError');
    await waitFor(() => closedSockets.length === 2);
    assert.deepEqual(closedSockets, seen.map((s) => s.socket));
  });

  it('retries after a timeout before the answer', async () => {
    const { url, seen } = await serve((_req, res, n) => (n === 1 ? undefined : json(res, 201, authorization)));
    assert.deepEqual(await track(client(url, { maxRetries: 1, timeoutMs: 300 })).authorizations.create(purchase), authorization);
    assert.equal(seen.length, 2);
  });

  it('sends to connectUrl and signs for baseUrl', async () => {
    const { url, seen } = await serve((_req, res) => json(res, 200, authorization));
    const c = track(client('https://pay.isp.example', { connectUrl: url }));
    assert.deepEqual(await c.authorizations.retrieve('auth_1'), authorization);
    assert.equal(seen[0]!.path, '/v1/authorizations/auth_1');
    assert.ok((await verify(seen[0]!, 'https://pay.isp.example')).ok);
    const asConnected = await verify(seen[0]!, url);
    assert.equal(asConnected.ok, false);
  });

  it('close() closes the kept-alive connection; the client can still be used', async () => {
    const { url, seen } = await serve((_req, res) => json(res, 200, authorization));
    const c = track(client(url));
    await c.authorizations.retrieve('auth_1');
    const closed = new Promise((r) => seen[0]!.socket.once('close', r));
    c.close();
    await closed;
    c.close();
    await c.authorizations.retrieve('auth_1');
    assert.notEqual(seen[1]!.socket, seen[0]!.socket);
  });

  it('an injected fetch is used instead, with the URL as a string and an abort signal', async () => {
    const calls: Array<{ input: unknown; signal: unknown }> = [];
    const fake: typeof fetch = async (input, init) => {
      calls.push({ input, signal: init?.signal });
      return new Response(JSON.stringify(authorization), { status: 201 });
    };
    const c = track(client('http://127.0.0.1:1', { fetch: fake }));
    assert.deepEqual(await c.authorizations.create(purchase), authorization);
    assert.equal(calls[0]!.input, 'http://127.0.0.1:1/v1/authorizations');
    assert.ok(calls[0]!.signal instanceof AbortSignal);
    c.close();
  });
});

describe('a script using the default transport', () => {
  let certs: TestCertificates;
  let httpsUrl: string;
  let httpUrl: string;

  before(async () => {
    certs = testCertificates();
    const cert = certs.issue('gateway', { sans: 'IP:127.0.0.1' });
    const answer = (req: IncomingMessage, res: ServerResponse) => req.resume().on('end', () => json(res, 201, authorization));
    const tls = createHttpsServer({ cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile) }, answer);
    const plain = createServer(answer);
    for (const s of [tls, plain]) {
      // Longer than the test waits: the script must exit with its connection still open.
      s.keepAliveTimeout = 60_000;
      servers.push(s);
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    }
    httpsUrl = `https://127.0.0.1:${(tls.address() as AddressInfo).port}`;
    httpUrl = `http://127.0.0.1:${(plain.address() as AddressInfo).port}`;
  });
  after(() => certs?.dispose());

  /** Runs a purchase in a fresh Node process; what it printed, and how long it took to exit after printing it. */
  async function script(baseUrl: string, env: Record<string, string> = {}): Promise<{ said: Record<string, unknown>; code: number | null; exitMs: number }> {
    const code = `
      import { SidebandClient } from '@sideband/merchant-sdk';
      const c = new SidebandClient({ baseUrl: process.env.BASE_URL, keyId: 'shop-key', privateKey: process.env.PEM, maxRetries: 0 });
      try {
        const a = await c.authorizations.create(${JSON.stringify(purchase)});
        // What still holds the event loop once the answer is in: an open connection must not.
        const holding = process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TLSWrap');
        console.log(JSON.stringify({ status: a.status, holding }));
      } catch (e) {
        console.log(JSON.stringify({ name: e.name, message: e.message, cause: e.cause?.code }));
      }`;
    const child = spawn(process.execPath, ['--conditions=sideband-source', '--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: root, env: { ...process.env, NODE_OPTIONS: '', BASE_URL: baseUrl, PEM: pem, ...env }, stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    const line = await new Promise<string>((r) => createInterface({ input: child.stdout }).once('line', r));
    const printed = Date.now();
    const exitCode = await exited;
    return { said: JSON.parse(line) as Record<string, unknown>, code: exitCode, exitMs: Date.now() - printed };
  }

  it('exits on its own right after its last answer, without close(), its connection still open', async () => {
    const r = await script(httpUrl);
    // Its idle connection is open (the server keeps it 60 s) but unref'd: nothing holds the loop.
    assert.deepEqual(r.said, { status: 'approved', holding: [] });
    assert.equal(r.code, 0);
    assert.ok(r.exitMs < 30_000, `exited ${r.exitMs} ms after its answer, before the server let go of the connection`);
  });

  it('buys over https with the default trust store (NODE_EXTRA_CA_CERTS here), and refuses a certificate it does not trust', async () => {
    const trusted = await script(httpsUrl, { NODE_EXTRA_CA_CERTS: certs.caFile });
    assert.deepEqual(trusted.said, { status: 'approved', holding: [] });
    assert.ok(trusted.exitMs < 30_000, `exited ${trusted.exitMs} ms after its answer`);
    const untrusted = await script(httpsUrl);
    assert.equal(untrusted.said.name, 'TypeError');
    assert.equal(untrusted.said.message, 'fetch failed');
    assert.equal(untrusted.said.cause, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    assert.equal(untrusted.code, 0);
  });
});

async function waitFor(ok: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}
