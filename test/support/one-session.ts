import type { TestGateway } from './test-gateway.ts';

/**
 * The tracking tests' world: a pool in 192.0.2.0/24, a NAS at 127.0.0.1 and one subscriber
 * whose session, authorized ten minutes ago, holds the pool's first address.
 */
export async function openOneSession(t: TestGateway, login: string): Promise<{ sessionId: string; address: string }> {
  const ctx = t.gateway.context;
  const pool = await ctx.network.addPool({ name: 'access', cidr: '192.0.2.0/24' });
  const nas = await ctx.network.addNas({ name: 'bng', address: '127.0.0.1', secret: `${login}-nas-secret-16`, pool: 'access' });
  const sub = await ctx.subscribers.add({ login, password: `${login}-password` });
  const authorized = await t.gateway.authentication.sessions.authorize({ subscriberId: sub.id, login, nasId: nas.id, poolId: pool.id, nasPort: 1, nasPortId: null, nasIdentifier: null, nasIpAddress: null, now: Date.now() - 10 * 60_000 });
  return { sessionId: authorized.sessionId, address: authorized.unit!.address };
}
