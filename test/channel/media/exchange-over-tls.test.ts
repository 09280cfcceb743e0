import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { createChannelIdentity, type ChannelIdentity, runExchangeSession, type ChannelItem, type SessionPlan, FrameStream, connectMedia, listenMedia, NumberPool, checkDirection } from '@sideband/channel';

const item = (kind: string, data: string): ChannelItem => ({ kind, data });

describe('the exchange on the call: TLS 1.3 with pinned certificates, then framed items', () => {
  let provider: ChannelIdentity;
  let merchant: ChannelIdentity;
  let stranger: ChannelIdentity;

  before(async () => {
    [provider, merchant, stranger] = await Promise.all([createChannelIdentity('provider'), createChannelIdentity('merchant'), createChannelIdentity('stranger')]);
  });

  /** The merchant listens (callee), the provider connects (caller). */
  async function call(callerPlan: Partial<SessionPlan>, calleePlan: Partial<SessionPlan>, callerIdentity = provider) {
    const listener = await listenMedia(merchant, '127.0.0.1', provider.fingerprint, 3000);
    const [callerSocket, calleeSocket] = await Promise.all([connectMedia(callerIdentity, '127.0.0.1', listener.port, merchant.fingerprint, 3000), listener.accepted]);
    assert.equal(callerSocket.getProtocol(), 'TLSv1.3');
    const base = { exchangeId: 'exc_1', token: 'tok-123', timeoutMs: 1000, expectIncoming: 0, outgoing: async () => [] };
    const [caller, callee] = await Promise.all([
      runExchangeSession(new FrameStream(callerSocket), { ...base, role: 'caller', ...callerPlan } as SessionPlan),
      runExchangeSession(new FrameStream(calleeSocket), { ...base, role: 'callee', ...calleePlan } as SessionPlan),
    ]);
    callerSocket.destroy();
    calleeSocket.destroy();
    return { caller, callee };
  }

  it('moves a card one way and goods back the other', async () => {
    const { caller, callee } = await call(
      { outgoing: async () => [item('card', '{"number":"test"}')], expectIncoming: 1 },
      { outgoing: async () => [item('goods', Buffer.from('the e-book').toString('base64'))], expectIncoming: 1 },
    );
    assert.ok(caller.ok && callee.ok);
    assert.equal(callee.received[0]!.kind, 'card');
    assert.equal(Buffer.from(caller.received[0]!.data, 'base64').toString(), 'the e-book');
  });

  it('the callee refuses a wrong identification token before anything moves', async () => {
    const { caller, callee } = await call({ token: 'guessed', outgoing: async () => [item('card', 'x')] }, { expectIncoming: 1 });
    assert.deepEqual([callee.ok, !callee.ok && callee.cause, callee.received.length], [false, 'token-mismatch', 0]);
    assert.equal(!caller.ok && caller.cause, 'peer-error');
  });

  it('refuses more items than announced, and a short exchange', async () => {
    const more = await call({ outgoing: async () => [item('card', 'a'), item('card', 'b')] }, { expectIncoming: 1 });
    assert.equal(!more.callee.ok && more.callee.cause, 'too-many-items');
    const fewer = await call({ outgoing: async () => [] }, { expectIncoming: 1 });
    assert.equal(!fewer.callee.ok && fewer.callee.cause, 'too-few-items');
  });

  it('a callee that refuses to deliver sends nothing', async () => {
    const { caller } = await call({ expectIncoming: 1 }, { outgoing: async () => [item('goods', 'g')], beforeSending: () => false });
    assert.equal(!caller.ok && caller.cause, 'peer-error');
    assert.equal(caller.received.length, 0);
  });

  /** A raw TLS connection to a listening callee, to send frames the protocol forbids. */
  async function rawCaller(calleePlan: Partial<SessionPlan>) {
    const listener = await listenMedia(merchant, '127.0.0.1', provider.fingerprint, 3000);
    const [socket, calleeSocket] = await Promise.all([connectMedia(provider, '127.0.0.1', listener.port, merchant.fingerprint, 3000), listener.accepted]);
    const callee = runExchangeSession(new FrameStream(calleeSocket), { exchangeId: 'exc_1', token: 'tok-123', timeoutMs: 1000, expectIncoming: 1, outgoing: async () => [item('goods', 'g')], role: 'callee', ...calleePlan } as SessionPlan);
    return { frames: new FrameStream(socket), socket, callee };
  }

  it('the callee refuses a caller that sends before identifying itself, and one that names another exchange', async () => {
    const early = await rawCaller({});
    early.frames.send({ type: 'item', seq: 1, kind: 'card', data: 'x' });
    const r1 = await early.callee;
    assert.equal(!r1.ok && r1.cause, 'sent-before-hello');
    assert.equal(r1.received.length, 0);
    early.socket.destroy();
    const other = await rawCaller({});
    other.frames.send({ type: 'hello', exchangeId: 'exc_other', token: 'tok-123' });
    assert.equal(((await other.callee) as { cause?: string }).cause, 'exchange-mismatch');
    other.socket.destroy();
  });

  it('the caller refuses a callee that sends first (the direction rule on the stream)', async () => {
    const listener = await listenMedia(merchant, '127.0.0.1', provider.fingerprint, 3000);
    const [callerSocket, calleeSocket] = await Promise.all([connectMedia(provider, '127.0.0.1', listener.port, merchant.fingerprint, 3000), listener.accepted]);
    const rogue = new FrameStream(calleeSocket);
    rogue.send({ type: 'item', seq: 1, kind: 'goods', data: 'unasked' });
    await new Promise((r) => setTimeout(r, 50));
    const caller = await runExchangeSession(new FrameStream(callerSocket), { role: 'caller', exchangeId: 'exc_1', token: 'tok-123', timeoutMs: 1000, expectIncoming: 1, outgoing: async () => [item('card', 'secret')] });
    assert.equal(!caller.ok && caller.cause, 'direction-rule');
    assert.equal(caller.sent, 0, 'the card was not sent');
    callerSocket.destroy();
    calleeSocket.destroy();
  });

  it('a peer that dies mid-exchange ends it with stream-closed, not a hang', async () => {
    const dying = await rawCaller({});
    dying.frames.send({ type: 'hello', exchangeId: 'exc_1', token: 'tok-123' });
    await new Promise((r) => setTimeout(r, 30));
    dying.socket.destroy();
    const r = await dying.callee;
    assert.ok(!r.ok && (r.cause === 'stream-closed' || r.cause === 'timeout'));
  });

  it('a certificate other than the registered one never gets a connection', async () => {
    const listener = await listenMedia(merchant, '127.0.0.1', provider.fingerprint, 1000);
    // In TLS 1.3 the client finishes before the server has judged its certificate, so the
    // stranger may see a connection: the callee closes it unused and keeps waiting.
    const strangerSocket = await connectMedia(stranger, '127.0.0.1', listener.port, merchant.fingerprint, 500).catch(() => null);
    if (strangerSocket) await new Promise((r) => strangerSocket.once('close', r));
    await assert.rejects(listener.accepted, /media-timeout/);
    const other = await listenMedia(stranger, '127.0.0.1', provider.fingerprint, 1000);
    await assert.rejects(connectMedia(provider, '127.0.0.1', other.port, merchant.fingerprint, 1000), /peer-certificate-mismatch/);
    other.close();
  });

  it('the direction rule: whoever sends first calls; the number comes from the other', () => {
    assert.deepEqual(checkDirection('provider', 'merchant'), { ok: true, roles: { caller: 'provider', callee: 'merchant' } });
    assert.deepEqual(checkDirection('merchant', 'merchant'), { ok: false, cause: 'direction-rule' });
  });

  it('the number pool reserves with a time-to-live, runs out, and takes numbers back', () => {
    const pool = new NumberPool(['+15550100', '+15550101']);
    const a = pool.reserve('e1', 't1', 1000, 0)!;
    const b = pool.reserve('e2', 't2', 1000, 0)!;
    assert.equal(pool.reserve('e3', 't3', 1000, 0), null, 'exhausted');
    assert.equal(pool.lookup(a.number, 500)?.exchangeId, 'e1');
    assert.equal(pool.lookup(a.number, 1000), undefined, 'expired');
    pool.release(b.number);
    assert.ok(pool.reserve('e4', 't4', 1000, 2000));
  });
});
