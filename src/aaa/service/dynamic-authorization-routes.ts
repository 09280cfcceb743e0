import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Context } from '../../gateway/context.ts';
import type { DynamicAuthorizationService } from './dynamic-authorization-service.ts';

const operatorOf = (req: FastifyRequest): string => `operator:${(req as FastifyRequest & { operator?: string }).operator ?? 'unknown'}`;

/**
 * Operator API actions that the NAS must be told of (RFC 5176). Each returns once the
 * requests are committed and handed to this gateway's sender, never waiting on the NAS:
 * their outcomes appear in `GET /v1/sessions/:id` under `dynamicAuthorizations`.
 */
export function dynamicAuthorizationRoutes(service: DynamicAuthorizationService, ctx: Context) {
  const send = (ids: readonly string[]): void => void service.sendClaimed(ids);
  return (app: FastifyInstance): void => {
    /** `POST /v1/sessions/ses_…/disconnect` → 202 and the queued Disconnect-Request. */
    app.post('/sessions/:id/disconnect', async (req, reply) => {
      const queued = await ctx.sessions.disconnect((req.params as { id: string }).id, { actor: operatorOf(req), claimedBy: service.holder });
      send([queued.id]);
      return reply.status(202).send(queued);
    });
    /** `POST /v1/subscribers/alice/suspend` → the subscriber, and a Disconnect-Request per open session. */
    app.post('/subscribers/:login/suspend', async (req) => {
      const view = await ctx.subscribers.suspend((req.params as { login: string }).login, { actor: operatorOf(req), claimedBy: service.holder });
      send(view.dynamicAuthorizations.map((d) => d.id));
      return view;
    });
    app.post('/subscribers/:login/resume', async (req) => ctx.subscribers.resume((req.params as { login: string }).login, { actor: operatorOf(req) }));
  };
}
