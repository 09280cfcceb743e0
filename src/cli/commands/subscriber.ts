import type { Command } from 'commander';
import type { DynamicAuthorizationView } from '../../aaa/service/dynamic-authorization-queue.ts';
import { describeRequest } from './session.ts';
import type { CardView, SubscriberView } from '../../provisioning/subscribers.ts';
import { formatAmount } from '../../core/money/currency.ts';
import { SidebandError } from '../../errors/sideband-error.ts';
import { CamaraConsents } from '../../certification/camara/camara-consents.ts';
import { integer, type Cli } from '../main.ts';
import { table } from '../output.ts';

function describe(s: SubscriberView & { cards?: CardView[]; dynamicAuthorizations?: DynamicAuthorizationView[] }): string {
  const lines = [
    `${s.login} (${s.id})`,
    `  status          ${s.status}`,
    `  spending limit  ${formatAmount(s.spendingLimit, s.currency)} (used ${formatAmount(s.amountUsed, s.currency)})`,
    `  auto-approve    ${s.autoApproveLimit === null ? 'every purchase asks' : `up to ${formatAmount(s.autoApproveLimit, s.currency)}`}`,
    `  merchant bill   ${s.releaseToMerchant ? 'may release billing details to merchants' : 'never releases billing details'}`,
    `  prepaid time    ${s.secondsAllotted === null ? 'unlimited' : `${s.secondsRemaining} of ${s.secondsAllotted} s remaining`}`,
  ];
  if (s.cards) {
    lines.push(`  cards           ${s.cards.length === 0 ? '(none)' : ''}`);
    for (const c of s.cards) lines.push(`    ${c.id}  ${c.brand.padEnd(10)} ${c.masked}  exp ${c.expiry}`);
  }
  // Requests to the NAS this change queued (RFC 5176); a running gateway sends them.
  for (const d of s.dynamicAuthorizations ?? []) lines.push(`  queued          ${describeRequest(d)}`);
  return lines.join('\n');
}

async function readFirstLine(input: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of input) {
    text += chunk.toString();
    if (text.includes('\n') || text.length > 64) break;
  }
  return text.split('\n')[0]!.trim();
}

export function registerSubscriberCommands(program: Command, cli: Cli): void {
  const cmd = program.command('subscriber').description('subscribers, their limits and their cards');

  cmd.command('add <login>')
    .description('add a subscriber')
    .requiredOption('--password <pw>', 'password for PAP/CHAP log-in (8 to 128 characters)')
    .option('--limit <minor>', 'spending limit per period, in minor units', integer('--limit'))
    .option('--currency <code>', 'ISO 4217 currency of the limit', 'EUR')
    .option('--seconds <n>', 'prepaid seconds (Session-Timeout); unlimited when absent', integer('--seconds'))
    .option('--auto-approve <minor>', 'purchases up to this amount need no confirmation', integer('--auto-approve'))
    .action(async (login: string, o: { password: string; limit?: number; currency: string; seconds?: number; autoApprove?: number }) =>
      cli.withContext(async (ctx, out) => {
        const s = await ctx.subscribers.add({ login, password: o.password, currency: o.currency, ...(o.limit !== undefined ? { spendingLimit: o.limit } : {}), seconds: o.seconds ?? null, autoApproveLimit: o.autoApprove ?? null });
        out.result(s, describe);
      }));

  cmd.command('list')
    .description('list subscribers')
    .option('--status <status>', 'active, suspended or closed')
    .option('--after <login>', 'continue after this login (pagination)')
    .option('--limit <n>', 'at most this many', integer('--limit'), 100)
    .action(async (o: { status?: 'active' | 'suspended' | 'closed'; after?: string; limit: number }) =>
      cli.withContext(async (ctx, out) => {
        const rows = await ctx.subscribers.list({ ...(o.status ? { status: o.status } : {}), ...(o.after ? { after: o.after } : {}), limit: o.limit });
        out.result(rows, (r: SubscriberView[]) => table(r.map((s) => ({ login: s.login, id: s.id, status: s.status, limit: formatAmount(s.spendingLimit, s.currency), used: formatAmount(s.amountUsed, s.currency), seconds: s.secondsRemaining })), ['login', 'id', 'status', 'limit', 'used', 'seconds']));
      }));

  cmd.command('show <login>')
    .description('show a subscriber and their cards (masked)')
    .action(async (login: string) => cli.withContext(async (ctx, out) => out.result(await ctx.subscribers.show(login), describe)));

  cmd.command('suspend <login>')
    .description('refuse log-ins and purchases until resumed')
    .action(async (login: string) => cli.withContext(async (ctx, out) => out.result(await ctx.subscribers.suspend(login), describe)));

  cmd.command('resume <login>')
    .description('lift a suspension')
    .action(async (login: string) => cli.withContext(async (ctx, out) => out.result(await ctx.subscribers.resume(login), describe)));

  cmd.command('reset-password <login>')
    .description('set a new log-in password (PAP and CHAP); gateways use it from the next log-in')
    .requiredOption('--password <pw>', 'the new password (8 to 128 characters); "-" reads it from standard input, keeping it out of the process list')
    .action(async (login: string, o: { password: string }) =>
      cli.withContext(async (ctx, out) => {
        const password = o.password === '-' ? await readFirstLine(process.stdin) : o.password;
        out.result(await ctx.subscribers.resetPassword(login, password), (s: SubscriberView) => `new password set for ${s.login}`);
      }));

  cmd.command('close <login>')
    .description('close the account for good: log-ins and purchases are refused, its cards\' sealed records and its sealed password destroyed (history stays)')
    .action(async (login: string) =>
      cli.withContext(async (ctx, out) => out.result(await ctx.subscribers.close(login), (s: SubscriberView & { cardsRemoved: number }) => `${describe(s)}\n  closed; ${s.cardsRemoved} card record${s.cardsRemoved === 1 ? '' : 's'} destroyed`)));

  cmd.command('set-limit <login>')
    .description('change the spending limit, auto-approve threshold or prepaid seconds')
    .option('--limit <minor>', 'spending limit per period, in minor units', integer('--limit'))
    .option('--auto-approve <minor>', 'auto-approve purchases up to this amount', integer('--auto-approve'))
    .option('--seconds <n>', 'reset prepaid seconds to this allotment', integer('--seconds'))
    .option('--allow-merchant-billing <yes|no>', 'let merchant_bill settlement release billing details (encrypted to the merchant), and a merchant that asks receive the card over the secure channel')
    .option('--spent-session-seconds <n|none>', 'spending rule: once the limit is spent, open sessions may last N more seconds (CoA), 0 disconnects them and refuses log-ins; none: no rule', (v: string) => (v === 'none' ? null : integer('--spent-session-seconds')(v)))
    .action(async (login: string, o: { limit?: number; autoApprove?: number; seconds?: number; allowMerchantBilling?: string; spentSessionSeconds?: number | null }) =>
      cli.withContext(async (ctx, out) => {
        const rule = o.spentSessionSeconds === undefined ? {} : { spentSessionSeconds: o.spentSessionSeconds };
        const s = await ctx.subscribers.setLimit(login, { ...rule, ...(o.limit !== undefined ? { spendingLimit: o.limit } : {}), ...(o.autoApprove !== undefined ? { autoApproveLimit: o.autoApprove } : {}), ...(o.seconds !== undefined ? { seconds: o.seconds } : {}), ...(o.allowMerchantBilling !== undefined ? { releaseToMerchant: /^(yes|true|1)$/i.test(o.allowMerchantBilling) } : {}) });
        out.result(s, describe);
      }));

  cmd.command('set-phone <login>')
    .description('register the subscriber\'s phone number (E.164), which CAMARA payments identify and carry (docs/camara.md)')
    .option('--number <e164>', 'the number, such as +34671999000')
    .option('--none', 'remove the number')
    .action(async (login: string, o: { number?: string; none?: boolean }) =>
      cli.withContext(async (ctx, out) => {
        if ((o.number === undefined) === (o.none !== true)) throw new SidebandError('USAGE', 'Give --number E164 or --none.');
        out.result(await ctx.subscribers.setPhoneNumber(login, o.none ? null : o.number!), describe);
      }));

  cmd.command('camara-consent <login> <merchant> <state>')
    .description('give (on) or withdraw (off) the subscriber\'s consent that this merchant learns their phone number from a CAMARA payment identified by address (docs/camara.md); audited')
    .action(async (login: string, merchant: string, state: string) =>
      cli.withContext(async (ctx, out) => {
        if (state !== 'on' && state !== 'off') throw new SidebandError('USAGE', 'The state is on or off.');
        const r = await new CamaraConsents(ctx.store, 'cli').set(login, merchant, state === 'on');
        out.result(r, () => `${login}: CAMARA consent for ${r.merchantId} ${r.consent ? 'given' : 'withdrawn'}`);
      }));

  cmd.command('add-card <login>')
    .description('seal a card in the vault for this subscriber; only the masked number is ever shown')
    .requiredOption('--number <pan>', 'card number (validated: Luhn, length, brand); "-" reads it from standard input, keeping it out of the process list')
    .requiredOption('--expiry <MM/YY>', 'expiry month')
    .requiredOption('--holder <name>', 'name on the card')
    .option('--credit-limit <minor>', 'the card\'s credit limit, in minor units', integer('--credit-limit'))
    .option('--credit-rating <rating>', 'credit rating')
    .option('--licence <number>', 'driver\'s licence number (sealed with the card)')
    .action(async (login: string, o: { number: string; expiry: string; holder: string; creditLimit?: number; creditRating?: string; licence?: string }) =>
      cli.withContext(async (ctx, out) => {
        const number = o.number === '-' ? await readFirstLine(process.stdin) : o.number;
        const card = await ctx.subscribers.addCard(login, { number, expiry: o.expiry, holderName: o.holder, creditLimit: o.creditLimit ?? null, creditRating: o.creditRating ?? null, licenceNumber: o.licence ?? null });
        out.result(card, (c: CardView) => `added ${c.brand} ${c.masked} exp ${c.expiry} as ${c.id}`);
      }));

  cmd.command('remove-card <login> <cardId>')
    .description('remove a card and destroy its sealed record')
    .action(async (login: string, cardId: string) =>
      cli.withContext(async (ctx, out) => {
        await ctx.subscribers.removeCard(login, cardId);
        out.result({ removed: cardId }, (r: { removed: string }) => `removed ${r.removed}`);
      }));
}
