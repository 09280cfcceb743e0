import type { FastifyInstance } from 'fastify';
import { canonicalAddress } from '../../core/network/cidr.ts';
import { SidebandError } from '../../errors/sideband-error.ts';
import type { Store } from '../../store/open-store.ts';
import type { DestinationTracking, UnattributedReason } from './destination-tracking.ts';
import { toIso } from '../../core/time/to-iso.ts';

const MAX_BATCH = 10_000;
interface PushBody {
  observations?: Array<{ source?: { address?: string; port?: number }; destination?: string; at?: string; flows?: number }>;
}

/**
 * Operator API routes of destination tracking: a session's recent destinations, and the
 * push endpoint for gateways that report destinations as JSON instead of flow records.
 */
export function trackingRoutes(tracking: DestinationTracking, store: Store) {
  return (app: FastifyInstance): void => {
    app.get('/sessions/:id/destinations', async (req) => {
      const id = (req.params as { id: string }).id;
      const session = await store.db.selectFrom('sessions').select('id').where('id', '=', id).executeTakeFirst();
      if (!session) throw new SidebandError('SESSION_NOT_FOUND', `No session ${id}.`, { param: 'id' });
      await tracking.flush();
      const list = await tracking.destinations(id);
      return { sessionId: id, referential: list[0]?.destination ?? null, data: list.map((d) => ({ destination: d.destination, firstSeen: toIso(d.firstSeen), lastSeen: toIso(d.lastSeen), flows: d.flows })) };
    });

    app.post('/destinations', { bodyLimit: 2 * 1024 * 1024 }, async (req, reply) => {
      const body = req.body as PushBody;
      if (!body || !Array.isArray(body.observations)) throw new SidebandError('REQUEST_INVALID', 'The body is { "observations": [ { "source": { "address", "port"? }, "destination", "at"?, "flows"? } ] }.', { param: 'observations' });
      if (body.observations.length > MAX_BATCH) throw new SidebandError('DESTINATIONS_BATCH_TOO_LARGE', `${body.observations.length} observations; at most ${MAX_BATCH} per request.`, { param: 'observations' });
      // Validate the whole batch before recording any of it: a bad entry loses nothing.
      const parsed = body.observations.map((o, i) => {
        const param = `observations[${i}]`;
        if (!o || typeof o !== 'object' || !o.source || typeof o.source.address !== 'string' || typeof o.destination !== 'string') throw new SidebandError('REQUEST_INVALID', `${param} needs source.address and destination.`, { param });
        const port = o.source.port;
        if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) throw new SidebandError('REQUEST_INVALID', `${param}.source.port must be 0 to 65535.`, { param: `${param}.source.port` });
        const at = o.at === undefined ? Date.now() : Date.parse(o.at);
        if (Number.isNaN(at)) throw new SidebandError('REQUEST_INVALID', `${param}.at is not an ISO 8601 time.`, { param: `${param}.at` });
        const flows = o.flows ?? 1;
        if (!Number.isInteger(flows) || flows < 1) throw new SidebandError('REQUEST_INVALID', `${param}.flows must be a positive integer.`, { param: `${param}.flows` });
        return { sourceAddress: canonicalAddress(o.source.address, `${param}.source.address`), sourcePort: port, destinationAddress: canonicalAddress(o.destination, `${param}.destination`), at, flows };
      });
      const exporter = `push:${(req as { operator?: string }).operator ?? 'operator'}`;
      let attributed = 0;
      const unattributedObservations: Array<{ index: number; reason: UnattributedReason }> = [];
      parsed.forEach((o, index) => {
        const result = tracking.attribute({ exporter, ...o });
        if (result.attributed) attributed++;
        else unattributedObservations.push({ index, reason: result.reason });
      });
      // The reasons are listed only when there are any, so a fully attributed batch answers as it always has.
      return reply.status(202).send({ received: parsed.length, attributed, unattributed: unattributedObservations.length, unattributedObservations });
    });
  };
}
