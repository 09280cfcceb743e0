import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AccountingService } from '../../../src/aaa/service/accounting-service.ts';
import type { AccountingFacts, SessionService } from '../../../src/aaa/service/session-service.ts';
import { AcctStatusType } from '../../../src/aaa/wire/attribute-values.ts';
import { Metrics } from '../../../src/observability/metrics.ts';
import { capturedLogger } from '../../support/captured-logger.ts';

// A NAS retransmits an Accounting-Request nobody answers, for as long as it keeps it: one
// dated absurdly must not write a warning per retransmission.

const facts = (nasId: string): AccountingFacts => ({
  nasId, login: 'ada', classValue: null, acctSessionId: 'absurd-1', nasIdentifier: null, nasIpAddress: null, nasPort: null, nasPortId: null,
  framedAddress: null, sessionTime: null, inputOctets: null, outputOctets: null, terminateCause: null,
});

describe('accounting dated outside the bounds', () => {
  it('is dropped every time, warned once a minute per NAS and otherwise logged at debug', async () => {
    const { logger, lines } = capturedLogger();
    // Nothing dated absurdly reaches the sessions: none are given.
    const accounting = new AccountingService(undefined as unknown as SessionService, { maxDelayMs: 3_600_000, maxAheadMs: 60_000 }, logger, new Metrics({ defaults: false }));
    const t0 = Date.now();
    const ahead = (nasId: string, at: number) => accounting.handle({ statusType: AcctStatusType.Start, facts: facts(nasId), eventTimestamp: Math.floor(at / 1000) + 3600, acctDelayTime: null }, at);
    const answers = [];
    for (let i = 0; i < 10; i++) answers.push(await ahead('nas-a', t0 + i * 3000));
    answers.push(await ahead('nas-b', t0 + 1000));
    answers.push(await ahead('nas-a', t0 + 61_000));
    assert.ok(answers.every((a) => !a.answered && a.cause === 'event-timestamp-ahead'));
    const about = lines.filter((l) => l.msg === 'Accounting-Request dated outside the accepted bounds; dropped');
    assert.equal(about.length, 12);
    const warned = about.filter((l) => l.level === 'warn').map((l) => l.nas);
    assert.deepEqual(warned, ['nas-a', 'nas-b', 'nas-a']);
  });
});
