import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { merchantSetup, shopper, type MerchantSetup } from '../support/merchant-harness.ts';
import { PortalClient } from '../support/portal-client.ts';
import { futureExpiry, testCardNumber } from '../support/test-cards.ts';
import { startTestGateway, type TestGateway } from '../support/test-gateway.ts';

/** The Purchases page's live feed, read as its EventSource would: each `pending` event as it comes, then the end. */
class PendingEvents extends EventEmitter {
  readonly received: string[] = [];
  readonly ended: Promise<'ended'>;

  private constructor(
    private readonly body: ReadableStream<Uint8Array>,
    private readonly abort: AbortController,
  ) {
    super();
    this.ended = this.read().then(() => 'ended' as const);
  }

  static async open(c: PortalClient): Promise<PendingEvents> {
    const abort = new AbortController();
    const res = await fetch(`${c.origin}/purchases/events`, { headers: { cookie: c.cookie }, signal: abort.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    return new PendingEvents(res.body!, abort);
  }

  private async read(): Promise<void> {
    const decoder = new TextDecoder();
    let text = '';
    try {
      for await (const chunk of this.body) {
        text += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = text.indexOf('\n\n')) >= 0) {
          const block = text.slice(0, end);
          text = text.slice(end + 2);
          const data = /^event: pending\ndata: (.*)$/m.exec(block);
          if (data) {
            this.received.push(data[1]!);
            this.emit('pending', data[1]!);
          }
        }
      }
    } catch (e) {
      if (!this.abort.signal.aborted) throw e;
    }
  }

  /** The next pending event's data. */
  async next(): Promise<string> {
    const [data] = (await once(this, 'pending')) as [string];
    return data;
  }

  close(): void {
    this.abort.abort();
  }
}

const portal = (t: TestGateway): string => `http://${t.gateway.listen.portalHttp}`;
const feeds: PendingEvents[] = [];

/** A subscriber asked about every purchase, signed in with the feed open and shown one pending purchase. */
async function watching(m: MerchantSetup, login: string, card: number): Promise<{ address: string; c: PortalClient; feed: PendingEvents }> {
  const { address } = await shopper(m, login, { autoApproveLimit: null, card: { number: testCardNumber(card), expiry: futureExpiry() } });
  const c = new PortalClient(portal(m.t));
  assert.equal(await c.signIn(login, `${login}-password`), 303);
  await c.get('/purchases');
  const feed = await PendingEvents.open(c);
  feeds.push(feed);
  const shown = feed.next();
  const first = await m.client.authorizations.create({ customer: { address }, amount: 1_200, currency: 'EUR', description: 'while signed in' });
  assert.equal(first.status, 'pending');
  assert.match(await shown, /while signed in/);
  return { address, c, feed };
}

/** A purchase asked for after the session ended: the feed ends without showing it. */
async function endsWithoutShowing(m: MerchantSetup, address: string, feed: PendingEvents): Promise<void> {
  const shown = feed.next().then(() => 'shown' as const);
  const later = await m.client.authorizations.create({ customer: { address }, amount: 3_400, currency: 'EUR', description: 'after the session ended' });
  assert.equal(later.status, 'pending');
  assert.equal(await Promise.race([feed.ended, shown]), 'ended');
  assert.ok(!feed.received.some((d) => d.includes('after the session ended')), 'the later purchase was not sent');
}

after(() => {
  for (const f of feeds) f.close();
});

/**
 * A Purchases page left open must stop showing new purchases (merchant, amount,
 * description) once its web session has ended, however it ended.
 */
describe('the live Purchases feed ends with the web session', () => {
  let m: MerchantSetup;

  before(async () => {
    m = await merchantSetup('sqlite', 'purchases-feed-ends-with-the-session');
  });
  after(async () => m?.dispose());

  it('a log-out ends the feed', async () => {
    const { address, c, feed } = await watching(m, 'elsa', 50);
    assert.equal((await c.post('/logout', {})).status, 303);
    await endsWithoutShowing(m, address, feed);
  });

  it('a password reset ends the feed before a later purchase is shown', async () => {
    const { address, feed } = await watching(m, 'finn', 51);
    await m.t.gateway.context.subscribers.resetPassword('finn', 'finn-new-password');
    await endsWithoutShowing(m, address, feed);
  });

  it('a suspension through the operator API ends the feed; resuming does not bring it back', async () => {
    const { address, feed } = await watching(m, 'gus', 52);
    for (const action of ['suspend', 'resume']) {
      const res = await fetch(`http://${m.t.gateway.listen.operatorHttp}/v1/subscribers/gus/${action}`, { method: 'POST', headers: { authorization: `Bearer ${m.t.token}` } });
      assert.equal(res.status, 200, await res.text());
    }
    await endsWithoutShowing(m, address, feed);
  });
});

describe('the live Purchases feed on one gateway ends with a log-out on another (one PostgreSQL database)', () => {
  let m: MerchantSetup;
  let b: TestGateway;

  before(async () => {
    m = await merchantSetup('postgres', 'purchases-feed-across-gateways-a');
    b = await startTestGateway('postgres', 'purchases-feed-across-gateways-b', { vault: { keyFile: join(m.t.database.dataDir, 'master-keys.json') } }, { sharing: m.t.database });
  });
  after(async () => {
    await b?.dispose();
    await m?.dispose();
  });

  it('the feed open on A ends once the session is logged out on B', async () => {
    const { address, c, feed } = await watching(m, 'hedy', 53);
    const onB = c.at(portal(b));
    await onB.get('/now');
    assert.equal((await onB.post('/logout', {})).status, 303);
    await endsWithoutShowing(m, address, feed);
  });
});
