import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defaultCost } from '../../src/core/identity/password-hash.ts';
import { SubscriberProvisioning } from '../../src/provisioning/subscribers.ts';
import { PortalClient } from '../support/portal-client.ts';
import { startTestGateway, type TestGateway } from '../support/test-gateway.ts';

const PER_ADDRESS = 5;
const PER_LOGIN = 20;
const GUESSES = 40;

/**
 * A guesser who sends many sign-ins at once rather than one after another: the throttle
 * must count each from the moment it is let through to the password check, or all of
 * them pass before the first has failed.
 */
describe('portal sign-ins sent together are throttled as if sent one by one', () => {
  let t: TestGateway;
  let origin: string;

  before(async () => {
    t = await startTestGateway('sqlite', 'portal-sign-ins-sent-together', {
      radius: { maxFailures: PER_ADDRESS, maxFailuresPerLogin: PER_LOGIN, failureWindowSeconds: 600 },
      // The test speaks for a proxy, so that each guess can come from an address of its own.
      web: { trustedProxies: ['127.0.0.1/32'] },
    });
    // Hashed at the production cost, not the tests' cheap one: a check takes as long as a guesser would find it takes.
    const { store, vault } = t.gateway.context;
    const subscribers = new SubscriberProvisioning(store, vault, { actor: 'test', scryptCost: defaultCost });
    for (const login of ['cleo', 'dora']) await subscribers.add({ login, password: `${login}-password` });
    origin = `http://${t.gateway.listen.portalHttp}`;
  });
  after(async () => t?.dispose());

  /**
   * Sends every wrong guess at once, and the right password as soon as one guess is
   * throttled (or, should none be, once all are answered): the limit is reached by then.
   */
  async function guessTogether(login: string, from: (i: number) => string, rightFrom: string): Promise<{ statuses: number[]; right: { status: number; body: string; location: string | null }; rightClient: PortalClient }> {
    // A log-in form each, fetched together: the guesses then leave on connections already open, and arrive together.
    const guessers = Array.from({ length: GUESSES }, () => new PortalClient(origin));
    await Promise.all(guessers.map((g) => g.get('/login')));
    let throttled!: () => void;
    const firstThrottled = new Promise<void>((resolve) => (throttled = resolve));
    const guesses = guessers.map((guesser, i) =>
      guesser.post('/login', { login, password: `not-${login}-password-${i}` }, { headers: { 'x-forwarded-for': from(i) } }).then((r) => {
        if (r.status === 429) throttled();
        return r.status;
      }),
    );
    const rightClient = new PortalClient(origin);
    await rightClient.get('/login');
    await Promise.race([firstThrottled, Promise.all(guesses)]);
    const right = await rightClient.post('/login', { login, password: `${login}-password` }, { headers: { 'x-forwarded-for': rightFrom } });
    return { statuses: await Promise.all(guesses), right, rightClient };
  }

  it('from one address: only radius.maxFailures guesses are checked, the rest and then the right password get 429', async () => {
    const { statuses, right, rightClient } = await guessTogether('cleo', () => '198.51.100.7', '198.51.100.7');
    assert.deepEqual(statuses.filter((s) => s !== 401 && s !== 429), []);
    assert.equal(statuses.filter((s) => s === 401).length, PER_ADDRESS, 'password checks let through');
    assert.equal(right.status, 429);
    assert.match(right.body, /PORTAL_LOGIN_THROTTLED/);
    assert.equal((await rightClient.get('/now')).location, '/login', 'the right password did not sign in');
  });

  it('from an address per guess: only radius.maxFailuresPerLogin guesses are checked, and the right password from a new address gets 429', async () => {
    const { statuses, right, rightClient } = await guessTogether('dora', (i) => `198.51.100.${10 + i}`, '203.0.113.99');
    assert.deepEqual(statuses.filter((s) => s !== 401 && s !== 429), []);
    assert.equal(statuses.filter((s) => s === 401).length, PER_LOGIN, 'password checks let through');
    assert.equal(right.status, 429);
    assert.equal((await rightClient.get('/now')).location, '/login', 'the right password did not sign in');
  });
});
