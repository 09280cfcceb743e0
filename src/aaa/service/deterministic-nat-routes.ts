import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SidebandError } from '../../errors/sideband-error.ts';
import { DeterministicNatProvisioning } from '../../provisioning/deterministic-nat.ts';
import type { Store } from '../../store/open-store.ts';

/**
 * Operator API for deterministic NAT mappings (RFC 7422), each change audited under the
 * operator's token name:
 *
 * @example
 * // POST /v1/nat-mappings {"name":"cgn-east","inside":"100.64.0.0/20","outside":"198.51.100.0/26","portsPerSubscriber":1008}
 * // GET /v1/nat-mappings[?all=true]     DELETE /v1/nat-mappings/cgn-east
 */
export function deterministicNatRoutes(store: Store) {
  const as = (req: FastifyRequest) => new DeterministicNatProvisioning(store, `operator:${(req as FastifyRequest & { operator?: string }).operator ?? 'unknown'}`);
  return (app: FastifyInstance): void => {
    app.get('/nat-mappings', async (req) => ({ data: await as(req).list((req.query as { all?: string }).all === 'true') }));
    app.post('/nat-mappings', async (req, reply) => {
      const b = (req.body ?? {}) as Record<string, unknown>;
      for (const name of ['name', 'inside', 'outside'] as const) {
        if (typeof b[name] !== 'string') throw new SidebandError('REQUEST_INVALID', `${name} is required, as a string.`, { param: name });
      }
      for (const name of ['portsPerSubscriber', 'firstPort'] as const) {
        if (b[name] !== undefined && !Number.isInteger(b[name])) throw new SidebandError('REQUEST_INVALID', `${name} is an integer.`, { param: name });
      }
      if (b.portsPerSubscriber === undefined) throw new SidebandError('REQUEST_INVALID', 'portsPerSubscriber is required.', { param: 'portsPerSubscriber' });
      const mapping = await as(req).add({ name: b.name as string, inside: b.inside as string, outside: b.outside as string, portsPerSubscriber: b.portsPerSubscriber as number, ...(b.firstPort !== undefined ? { firstPort: b.firstPort as number } : {}) });
      return reply.status(201).send(mapping);
    });
    app.delete('/nat-mappings/:name', async (req) => as(req).remove((req.params as { name: string }).name));
  };
}
