import type { FastifyInstance } from 'fastify';
import { SidebandError } from '../../errors/sideband-error.ts';
import type { Store } from '../../store/open-store.ts';
import type { ProviderChannel } from './provider-channel.ts';
import { toIso } from '../../core/time/to-iso.ts';

/**
 * Operator and portal routes of the secure channel: switching it on for a purchase (the
 * subscriber's "secure icon"), whether it is active before anything is sent, the choice
 * when it is not, and the exchange's call detail records.
 */
export function channelRoutes(channel: () => ProviderChannel | null, store: Store) {
  const get = (): ProviderChannel => {
    const c = channel();
    if (!c) throw new SidebandError('CHANNEL_UNAVAILABLE', 'This gateway runs no secure channel.');
    return c;
  };
  return (app: FastifyInstance): void => {
    app.post('/authorizations/:id/secure-channel', async (req, reply) => {
      const body = (req.body ?? {}) as { goods?: number };
      const goods = body.goods ?? 0;
      if (!Number.isInteger(goods) || goods < 0 || goods > 100) throw new SidebandError('REQUEST_INVALID', 'goods is the number of items the merchant sends back, 0 to 100.', { param: 'goods' });
      return reply.status(201).send(await get().providerInitiated((req.params as { id: string }).id, { merchant: goods }));
    });
    app.get('/channel/exchanges/:id', async (req) => get().view((req.params as { id: string }).id));
    app.put('/subscribers/:login/secure-channel/:merchantId', async (req) => {
      const { login, merchantId } = req.params as { login: string; merchantId: string };
      const mode = ((req.body ?? {}) as { mode?: string }).mode;
      if (mode !== 'once' && mode !== 'on' && mode !== 'off') throw new SidebandError('REQUEST_INVALID', 'mode is once (the next purchase), on (until switched off) or off.', { param: 'mode' });
      const sub = await store.db.selectFrom('subscribers').select('id').where('login', '=', login).executeTakeFirst();
      if (!sub) throw new SidebandError('SUBSCRIBER_NOT_FOUND', `No subscriber ${login}.`, { param: 'login' });
      const merchant = await store.db.selectFrom('merchants').select('id').where('id', '=', merchantId).executeTakeFirst();
      if (!merchant) throw new SidebandError('MERCHANT_NOT_FOUND', `No merchant ${merchantId}.`, { param: 'merchantId' });
      await get().setPreference(sub.id, merchant.id, mode);
      return { login, merchantId, mode };
    });
    app.get('/channel/exchanges/:id/goods', async (req) => {
      const id = (req.params as { id: string }).id;
      await get().view(id);
      return { data: get().goods.get(id) ?? [] };
    });
    app.post('/channel/exchanges/:id/end', async (req) => get().end((req.params as { id: string }).id));
    app.post('/channel/exchanges/:id/fallback', async (req) => {
      const choice = ((req.body ?? {}) as { choice?: string }).choice;
      if (choice !== 'internet' && choice !== 'abort') throw new SidebandError('REQUEST_INVALID', 'choice is internet (conventional encrypted Internet) or abort.', { param: 'choice' });
      return get().fallback((req.params as { id: string }).id, choice);
    });
    app.get('/channel/calls', async () => {
      const rows = await store.db.selectFrom('call_records').selectAll().orderBy('started_at', 'desc').limit(200).execute();
      return { data: rows.map((r) => ({ id: r.id, callId: r.call_id, caller: r.caller, callee: r.callee, dialed: r.dialed, billed: r.billed, reverseCharge: r.reverse_charge === 1, status: r.status, outcome: r.outcome, bytes: r.bytes, startedAt: toIso(r.started_at), answeredAt: toIso(r.answered_at), endedAt: toIso(r.ended_at) })) };
    });
  };
}
