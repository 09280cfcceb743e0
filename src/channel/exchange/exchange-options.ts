import { z } from 'zod';
import { SidebandError } from '../../errors/sideband-error.ts';
import { exchangeLimitsSchema } from './exchange-limits.ts';

const port = z.number().int().min(0).max(65535);
/** An address-of-record user part: digits with an optional leading "+" (and * #, for service codes). */
export const ADDRESS_OF_RECORD_NUMBER = /^\+?[0-9*#]{1,32}$/;
const number = z.string().regex(ADDRESS_OF_RECORD_NUMBER, 'must be digits with an optional leading "+"');

const line = z
  .object({
    /** The Digest username the line's user agents authenticate with. */
    username: z.string().min(1).max(128).regex(/^[^\s"\\]+$/, 'must have no spaces, quotes or backslashes'),
    password: z.string().min(8).max(128),
    /** The numbers the line may register and call from. */
    numbers: z.array(number).min(1).max(64),
    /** Numbers of this line that are special access numbers: calls to them are billed to the line (the callee). */
    reverseCharge: z.array(number).max(64).default([]),
  })
  .strict();

export const exchangeStartSchema = z
  .object({
    /** A concrete address: it goes into Via, Record-Route and P-Asserted-Identity. */
    host: z.string().min(1).refine((h) => h !== '0.0.0.0' && h !== '::', 'must be a concrete address, not a wildcard: it is sent in Via and Record-Route'),
    udpPort: port,
    tcpPort: port,
    lines: z.array(line).min(1),
    /** Per-source limits on UDP and TCP; the SIP stack's defaults unless given. */
    limits: exchangeLimitsSchema.prefault({}),
  })
  .strict()
  .superRefine((options, context) => {
    const owners = new Map<string, string>();
    const usernames = new Set<string>();
    for (const [i, l] of options.lines.entries()) {
      if (usernames.has(l.username)) context.addIssue({ code: 'custom', path: ['lines', i, 'username'], message: `username ${l.username} appears twice` });
      usernames.add(l.username);
      for (const n of l.numbers) {
        const owner = owners.get(n);
        if (owner !== undefined) context.addIssue({ code: 'custom', path: ['lines', i, 'numbers'], message: `number ${n} belongs to ${owner} already` });
        owners.set(n, l.username);
      }
      for (const n of l.reverseCharge) {
        if (!l.numbers.includes(n)) context.addIssue({ code: 'custom', path: ['lines', i, 'reverseCharge'], message: `${n} is not one of the line's numbers` });
      }
    }
  });

export type ExchangeStartInput = z.input<typeof exchangeStartSchema>;
export type ExchangeStartOptions = z.output<typeof exchangeStartSchema>;
export type ExchangeLine = ExchangeStartOptions['lines'][number];

/** Checks start() options once and freezes them; the message names the setting and what it accepts. */
export function validateExchangeStart(input: ExchangeStartInput): Readonly<ExchangeStartOptions> {
  const result = exchangeStartSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const param = issue.path.join('.');
    throw new SidebandError('CONFIG_INVALID', `Invalid exchange option ${param}: ${issue.message}.`, { param });
  }
  return Object.freeze(result.data);
}
