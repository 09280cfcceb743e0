import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeTlsStream } from '@sideband/sip/sdp';
import { type IncomingCall, SipFailure, UserAgent } from '@sideband/sip/user-agent';
import { createTestLogger } from '../../../src/observability/logger.ts';
import { haveKamailio, kamailioMissing, startKamailio, type RunningKamailio } from '../../support/kamailio.ts';

const lines = [
  { username: 'provider', password: 'provider-password', numbers: ['+15550100'] },
  { username: 'shop', password: 'shop-password', numbers: ['+15550199'] },
  { username: 'mallory', password: 'mallory-password', numbers: ['+15550166'] },
];
const fingerprint = { hashFunction: 'sha-256', value: Array.from({ length: 32 }, () => 'AB').join(':') };
const offer = describeTlsStream({ address: '127.0.0.1', port: 40001, setup: 'actpass', connection: 'new', fingerprints: [fingerprint], format: '*' });
const answer = describeTlsStream({ address: '127.0.0.1', port: 9, setup: 'active', connection: 'new', fingerprints: [fingerprint], format: '*' });

const failure = async (promise: Promise<unknown>): Promise<SipFailure> => {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof SipFailure, String(e));
    return e;
  }
  assert.fail('expected a failure');
};

for (const transport of ['UDP', 'TCP'] as const) {
  describe(`user agents through Kamailio over ${transport}`, { skip: haveKamailio ? false : kamailioMissing, timeout: 60_000 }, () => {
    let kamailio: RunningKamailio;
    let registrar: string;
    let provider: UserAgent;
    let shop: UserAgent;

    before(async () => {
      kamailio = await startKamailio(lines, `kamailio-${transport}`);
      registrar = transport === 'UDP' ? kamailio.uri : `${kamailio.uri};transport=tcp`;
      const ua = async (name: string) => {
        const agent = new UserAgent({ host: '127.0.0.1', ...(transport === 'UDP' ? { udpPort: 0 } : { tcpPort: 0 }), logger: createTestLogger(`${name}-kamailio-${transport}`) });
        await agent.start();
        return agent;
      };
      provider = await ua('provider');
      shop = await ua('shop');
      await provider.register(['+15550100'], { registrar, username: 'provider', password: 'provider-password', expires: 120 });
      await shop.register(['+15550199'], { registrar, username: 'shop', password: 'shop-password', expires: 120 });
    });
    after(async () => {
      await provider?.stop();
      await shop?.stop();
      await kamailio?.stop();
    });

    it('connects a call with DNIS, Kamailio\'s P-Asserted-Identity as ANI, and the SDP answer; BYE passes its Record-Route', async () => {
      const incoming = new Promise<IncomingCall>((resolve) => (shop.onInvite = resolve));
      const placing = provider.call('+15550199', { from: '+15550100', sdp: offer });
      const ringing = await incoming;
      assert.equal(ringing.dnis, '+15550199');
      assert.equal(ringing.ani, '+15550100');
      assert.equal(ringing.offer, offer);
      assert.ok(ringing.facts.headers.getAll('Record-Route').length >= 1, 'Kamailio record-routes');
      const callee = ringing.accept(answer);
      const call = await placing;
      assert.equal(call.remoteSdp, answer);
      const answered = await callee;
      await sleep(20);
      await call.bye();
      assert.equal((await answered.ended).by, 'remote');
    });

    it('is refused 404 for a number nobody registered', async () => {
      const e = await failure(provider.call('+15550123', { from: '+15550100', sdp: offer }));
      assert.equal(e.code, 'SIP_NUMBER_UNKNOWN');
      assert.equal(e.status, 404);
    });

    it('passes on 486 Busy Here, and CANCELs an unanswered call', async () => {
      shop.onInvite = (incoming) => incoming.reject(486);
      assert.equal((await failure(provider.call('+15550199', { from: '+15550100', sdp: offer }))).code, 'SIP_BUSY');
      const cancelled = new Promise<void>((resolve) => (shop.onInvite = (incoming) => incoming.once('cancelled', resolve)));
      const e = await failure(provider.call('+15550199', { from: '+15550100', sdp: offer, ringTimeoutMs: 300 }));
      assert.equal(e.code, 'SIP_NO_ANSWER');
      assert.equal(e.status, 487);
      await cancelled;
    });

    it('is refused 403 when the caller claims a number of another line', async () => {
      const e = await failure(provider.call('+15550199', { from: '+15550166', sdp: offer, line: { registrar, username: 'provider', password: 'provider-password' } }));
      assert.equal(e.code, 'SIP_FORBIDDEN');
      assert.equal(e.status, 403);
    });
  });
}
