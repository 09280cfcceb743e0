import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseCidr } from '../../../src/core/network/cidr.ts';
import { dialects } from '../../support/databases.ts';
import { openOneSession } from '../../support/one-session.ts';
import { startTestGateway, type TestGateway } from '../../support/test-gateway.ts';

for (const dialect of dialects) {
  describe(`destination tracking and the destination check on ${dialect}`, () => {
    let t: TestGateway;
    let sessionId: string;
    let address: string;

    before(async () => {
      t = await startTestGateway(dialect, `tracking-${dialect}`);
      ({ sessionId, address } = await openOneSession(t, 'hana'));
    });
    after(async () => t?.dispose());

    const push = async (body: unknown, token = t.token) => {
      const res = await fetch(`http://${t.gateway.listen.operatorHttp}/v1/destinations`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };

    it('accepts an authenticated JSON batch and attributes it to the session that held the source address', async () => {
      const now = Date.now();
      const r = await push({ observations: [
        { source: { address }, destination: '203.0.113.10', at: new Date(now - 120_000).toISOString() },
        { source: { address, port: 40000 }, destination: '198.51.100.20', at: new Date(now - 1000).toISOString(), flows: 3 },
        { source: { address: '192.0.2.250' }, destination: '198.51.100.99' },
      ] });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      assert.deepEqual(r.body, { received: 3, attributed: 2, unattributed: 1, unattributedObservations: [{ index: 2, reason: 'no-binding' }] });
      const d = await t.operator(`/v1/sessions/${sessionId}/destinations`);
      const body = d.body as { referential: string; data: Array<{ destination: string; flows: number; firstSeen: string; lastSeen: string }> };
      assert.equal(body.referential, '198.51.100.20');
      assert.deepEqual(body.data.map((x) => [x.destination, x.flows]), [['198.51.100.20', 3], ['203.0.113.10', 1]]);
    });

    it('refuses a bad batch whole, with the field named, and an unauthenticated one', async () => {
      const bad = await push({ observations: [{ source: { address }, destination: '203.0.113.11' }, { source: { address: 'nope' }, destination: '203.0.113.12' }] });
      assert.equal(bad.status, 400);
      assert.deepEqual((bad.body as { error: { code: string; param: string } }).error, { type: 'invalid_request', code: 'ADDRESS_INVALID', message: 'observations[1].source.address must be an IPv4 address in dotted decimal without leading zeros (192.0.2.10) or an IPv6 address (2001:db8::10), with no zone index or spaces.', param: 'observations[1].source.address' });
      const d = await t.operator(`/v1/sessions/${sessionId}/destinations`);
      assert.ok(!(d.body as { data: Array<{ destination: string }> }).data.some((x) => x.destination === '203.0.113.11'), 'nothing of the bad batch was recorded');
      assert.equal((await push({ observations: [] }, 'sbop_wrong')).status, 401);
      assert.equal((await push({ observations: Array.from({ length: 10_001 }, () => ({ source: { address }, destination: '203.0.113.1' })) })).body.error !== undefined, true);
    });

    it('answers the check: recent window, last destination only, or off', async () => {
      const tracking = t.gateway.tracking;
      const merchant = [parseCidr('203.0.113.0/24')];
      assert.equal((await tracking.check(sessionId, merchant, 'recent', 10 * 60_000)).contacted, true);
      assert.equal((await tracking.check(sessionId, merchant, 'recent', 60_000)).contacted, false, 'the visit was two minutes ago');
      const last = await tracking.check(sessionId, merchant, 'last', 0);
      assert.equal(last.contacted, false, 'the referential address is elsewhere');
      assert.equal(last.referential?.destination, '198.51.100.20');
      assert.equal((await tracking.check(sessionId, [parseCidr('198.51.100.0/24')], 'last', 0)).contacted, true);
      assert.equal((await tracking.check(sessionId, merchant, 'off', 0)).contacted, true);
    });

    it('keeps destinations in the store across a restart of the tracker', async () => {
      await t.gateway.tracking.flush();
      const rows = await t.gateway.context.store.db.selectFrom('session_destinations').selectAll().where('session_id', '=', sessionId).execute();
      assert.equal(rows.length, 2);
      const unknown = await t.operator('/v1/sessions/ses_nope/destinations');
      assert.equal(unknown.status, 404);
    });
  });
}
