import { after, describe, it } from 'node:test';
import { UserAgent } from '@sideband/sip';
import { createTestLogger } from '../../src/observability/logger.ts';
import { world, type World } from '../support/channel-world.ts';

/**
 * Every close()/stop() of the SIP stack, the channel and the SDK's MerchantChannel is
 * idempotent: a merchant's shutdown path that closes twice (a signal handler and a
 * finally, say) must not throw from dgram's "Not running" and end the process.
 */
describe('closing twice', () => {
  let w: World | null = null;
  after(async () => { await w?.m.dispose(); });

  for (const transport of ['udp', 'tcp'] as const) {
    it(`a user agent on ${transport} stops twice, one after the other and at once`, async () => {
      const logger = createTestLogger(`closing-twice-${transport}`);
      const ports = transport === 'udp' ? { udpPort: 0 } : { tcpPort: 0 };
      const ua = new UserAgent({ host: '127.0.0.1', ...ports, logger });
      await ua.start();
      await ua.stop();
      await ua.stop();
      const other = new UserAgent({ host: '127.0.0.1', ...ports, logger });
      await other.start();
      await Promise.all([other.stop(), other.stop({ unregister: false })]);
    });
  }

  it('the merchant channel, its endpoint and its telephony each close twice', async () => {
    w = await world('closing-twice');
    await Promise.all([w.channel.stop(), w.channel.stop()]);
    await w.channel.stop();
    await w.endpoint.close();
    await w.endpoint.close();
    await w.telephony.close();
    await Promise.all([w.telephony.close(), w.telephony.close()]);
  });
});
