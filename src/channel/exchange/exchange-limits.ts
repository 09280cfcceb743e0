import { z } from 'zod';
import { defaultSourceLimits as d, type SourceLimits } from '@sideband/sip/transport';

const count = (min: number) => z.number().int().min(min).max(1_000_000);
const seconds = z.number().positive().max(86_400);

/**
 * The exchange's per-source limits as configured (`channel.exchange.limits`), in seconds;
 * the defaults are the SIP stack's (`defaultSourceLimits`). docs/secure-channel.md says
 * what each one does.
 */
export const exchangeLimitsSchema = z
  .object({
    maxConnections: count(16).default(d.maxConnections),
    maxConnectionsPerSource: count(1).default(d.maxConnectionsPerSource),
    reservedConnections: count(0).default(d.reservedConnections),
    firstRequestTimeoutSeconds: seconds.default(d.firstRequestTimeoutMs / 1000),
    authenticationTimeoutSeconds: seconds.default(d.authenticationTimeoutMs / 1000),
    idleTimeoutSeconds: seconds.default(d.idleTimeoutMs / 1000),
    messagesPerSecond: count(1).default(d.messagesPerSecond),
    messageBurst: count(1).default(d.messageBurst),
    lineMessagesPerSecond: count(1).default(d.lineMessagesPerSecond),
  })
  .strict()
  .superRefine((l, context) => {
    if (l.reservedConnections >= l.maxConnections) context.addIssue({ code: 'custom', path: ['reservedConnections'], message: 'must be below maxConnections, or no line could open its first connection' });
    if (l.authenticationTimeoutSeconds < l.firstRequestTimeoutSeconds) context.addIssue({ code: 'custom', path: ['authenticationTimeoutSeconds'], message: 'must not be shorter than firstRequestTimeoutSeconds' });
    if (l.lineMessagesPerSecond < l.messagesPerSecond) context.addIssue({ code: 'custom', path: ['lineMessagesPerSecond'], message: 'must not be below messagesPerSecond' });
  });

export type ExchangeLimits = z.output<typeof exchangeLimitsSchema>;

export function toSourceLimits(l: ExchangeLimits): SourceLimits {
  return {
    maxConnections: l.maxConnections,
    maxConnectionsPerSource: l.maxConnectionsPerSource,
    reservedConnections: l.reservedConnections,
    firstRequestTimeoutMs: Math.round(l.firstRequestTimeoutSeconds * 1000),
    authenticationTimeoutMs: Math.round(l.authenticationTimeoutSeconds * 1000),
    idleTimeoutMs: Math.round(l.idleTimeoutSeconds * 1000),
    messagesPerSecond: l.messagesPerSecond,
    messageBurst: l.messageBurst,
    lineMessagesPerSecond: l.lineMessagesPerSecond,
  };
}
