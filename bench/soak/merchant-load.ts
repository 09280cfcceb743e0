// Merchant load for the soak, through the SDK as a merchant's shop runs it: signed
// authorizations (RFC 9421, Content-Digest, Idempotency-Key) at a steady rate, half of
// them captured and some of those refunded; and secure-channel exchanges one after
// another (the merchant's MerchantChannel answering the provider's calls through the
// built-in SIP exchange, the card arriving over TLS media), as bench/channel drives them.
import { SidebandApiError, SidebandClient } from '@sideband/merchant-sdk';
import { createChannelIdentity, ChannelEndpoint, SipTelephony } from '@sideband/channel';
import { MerchantChannel } from '@sideband/merchant-sdk/channel';
import { createLogger } from '../../src/observability/logger.ts';
import { SHOP } from '../../test/support/channel-world.ts';
import type { Tally } from './tally.ts';

export interface MerchantLoadOptions {
  readonly merchantHttp: string;
  readonly exchangeUdp: string;
  readonly keyId: string;
  readonly privateKeyPem: string;
  readonly shoppers: readonly string[];
  /** Authorizations per second (channel exchanges come on top). */
  readonly rate: number;
  /** Secure-channel exchanges run one at a time; false leaves them out. */
  readonly channel: boolean;
  readonly tally: Tally;
}

const TICK_MS = 20;
const MAX_IN_FLIGHT = 32;

/** An error's label: the API's code and status, else what failed underneath (bench/authorizations does the same). */
function errorLabel(e: unknown): string {
  if (e instanceof SidebandApiError) return `${e.status} ${e.code}`;
  const err = e as { name?: string; message?: string; cause?: { code?: string; name?: string } };
  return err.cause?.code ?? err.cause?.name ?? err.name ?? 'error';
}

export class MerchantLoad {
  readonly client: SidebandClient;
  private channel: MerchantChannel | null = null;
  private timer: NodeJS.Timeout | null = null;
  private credit = 0;
  private turn = 0;
  private stopping = false;
  private readonly inFlight = new Set<Promise<void>>();
  private exchanges: Promise<void> | null = null;

  constructor(private readonly o: MerchantLoadOptions) {
    this.client = new SidebandClient({ baseUrl: `http://${o.merchantHttp}`, keyId: o.keyId, privateKey: o.privateKeyPem, maxRetries: 0, timeoutMs: 10_000 });
  }

  /** Starts the merchant's end of the secure channel and returns what the provider must register for it. */
  async startChannel(): Promise<{ url: string; fingerprint: string }> {
    const logger = createLogger({ level: 'silent' });
    const identity = await createChannelIdentity('shop.example');
    const telephony = await SipTelephony.start({ host: '127.0.0.1', registrar: `sip:${this.o.exchangeUdp}`, username: SHOP.username, password: SHOP.password, lineNumber: SHOP.lineNumber, numbers: SHOP.numbers, logger });
    const endpoint = new ChannelEndpoint({ party: 'merchant', identity, telephony, numbers: SHOP.numbers, mediaAddress: '127.0.0.1', reservationTtlMs: 5000, ringTimeoutMs: 5000, exchangeTimeoutMs: 10_000 });
    this.channel = new MerchantChannel({
      client: this.client, endpoint, listen: { host: '127.0.0.1', port: 0 },
      // The card is the acquirer's business; here it is only counted, never printed.
      onCard: () => this.o.tally.add('channel card received'),
      goods: () => [{ kind: 'goods', contentType: 'application/epub+zip', data: Buffer.from('an e-book').toString('base64') }],
    });
    const url = await this.channel.start();
    return { url, fingerprint: identity.fingerprint };
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), TICK_MS);
    if (this.o.channel && this.channel) this.exchanges = this.exchangeLoop();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.all([...this.inFlight, this.exchanges]);
    await this.channel?.stop();
  }

  private shopper(): string {
    return this.o.shoppers[this.turn++ % this.o.shoppers.length]!;
  }

  private tick(): void {
    this.credit = Math.min(this.credit + (this.o.rate * TICK_MS) / 1000, this.o.rate);
    while (this.credit >= 1 && this.inFlight.size < MAX_IN_FLIGHT) {
      this.credit--;
      const job = this.purchase().finally(() => this.inFlight.delete(job));
      this.inFlight.add(job);
    }
  }

  /** An authorization, then (for half) its capture, then (for a quarter of those) a refund. */
  private async purchase(): Promise<void> {
    const { tally } = this.o;
    const n = this.turn;
    let id: string;
    try {
      const a = await this.client.authorizations.create({ customer: { address: this.shopper() }, amount: 1000 + (n % 50), currency: 'EUR', capture: 'manual', description: 'Soak purchase', merchantReference: `soak/${n}` });
      if (a.status !== 'approved') return tally.add(`authorization ${a.status} ${a.reason ?? ''}`.trim());
      tally.add('authorization approved');
      id = a.id;
    } catch (e) {
      return tally.add(`authorization error ${errorLabel(e)}`);
    }
    if (n % 2 !== 0) return;
    try {
      await this.client.authorizations.capture(id);
      tally.add('capture ok');
    } catch (e) {
      return tally.add(`capture error ${errorLabel(e)}`);
    }
    if (n % 8 !== 0) return;
    try {
      await this.client.authorizations.refund(id, { reason: 'Returned by the soak' });
      tally.add('refund ok');
    } catch (e) {
      tally.add(`refund error ${errorLabel(e)}`);
    }
  }

  /** Exchanges one after another: an authorization, the provider calls, the card comes over the call, goods go back. */
  private async exchangeLoop(): Promise<void> {
    const { tally } = this.o;
    while (!this.stopping) {
      try {
        const a = await this.client.authorizations.create({ customer: { address: this.shopper() }, amount: 700, currency: 'EUR' });
        if (a.status !== 'approved') {
          tally.add(`channel authorization ${a.status}`);
        } else {
          const { outcome } = await this.channel!.requestCard(a.id, 1);
          const result = await outcome;
          tally.add(result.ok ? 'channel exchange ok' : `channel exchange failed ${result.cause}`);
        }
      } catch (e) {
        tally.add(`channel error ${errorLabel(e)}`);
        await new Promise((r) => setTimeout(r, 1000));
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
