import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BindingIndex } from '../../../src/core/resolution/binding-index.ts';
import type { Binding } from '../../../src/core/resolution/binding.ts';
import type { SidebandError } from '../../../src/errors/sideband-error.ts';

const T = Date.UTC(2025, 5, 1);
const MINUTE = 60_000;

const holder = (index: BindingIndex, address: string, at: number, port?: number): string | undefined => index.resolve(address, at, port)?.sessionId;

describe('binding history', () => {
  it('answers during a binding and not before or after it: start inclusive, end exclusive', () => {
    const index = new BindingIndex();
    index.add({ id: 'bnd_1', sessionId: 'ses_1', address: '100.64.0.10', start: T, end: T + 10 * MINUTE });
    assert.equal(holder(index, '100.64.0.10', T - 1), undefined);
    assert.equal(holder(index, '100.64.0.10', T), 'ses_1');
    assert.equal(holder(index, '100.64.0.10', T + 5 * MINUTE), 'ses_1');
    assert.equal(holder(index, '100.64.0.10', T + 10 * MINUTE - 1), 'ses_1');
    assert.equal(holder(index, '100.64.0.10', T + 10 * MINUTE), undefined);
    assert.equal(holder(index, '100.64.0.11', T + 5 * MINUTE), undefined);
  });

  it('returns the binding as added, its address in canonical form', () => {
    const index = new BindingIndex();
    const added: Binding = { id: 'bnd_1', sessionId: 'ses_1', address: '2001:DB8:0:0::1', start: T, end: T + MINUTE };
    index.add(added);
    assert.deepEqual(index.resolve('2001:db8::1', T), { ...added, address: '2001:db8::1' });
    assert.deepEqual(index.get('bnd_1'), { ...added, address: '2001:db8::1' });
    assert.equal(index.get('bnd_2'), undefined);
  });

  it('tells the first holder from the second after the address is reused', () => {
    const index = new BindingIndex();
    index.add({ id: 'bnd_1', sessionId: 'ses_1', address: '100.64.0.10', start: T, end: T + 10 * MINUTE });
    index.add({ id: 'bnd_2', sessionId: 'ses_2', address: '100.64.0.10', start: T + 10 * MINUTE, end: null });
    index.add({ id: 'bnd_0', sessionId: 'ses_0', address: '100.64.0.10', start: T - 60 * MINUTE, end: T - 30 * MINUTE });
    assert.equal(holder(index, '100.64.0.10', T - 45 * MINUTE), 'ses_0');
    assert.equal(holder(index, '100.64.0.10', T - 10 * MINUTE), undefined);
    assert.equal(holder(index, '100.64.0.10', T + 10 * MINUTE - 1), 'ses_1');
    assert.equal(holder(index, '100.64.0.10', T + 10 * MINUTE), 'ses_2');
    assert.equal(holder(index, '100.64.0.10', T + 1e9), 'ses_2');
    assert.equal(index.size, 3);
  });

  it('keeps an open binding answering until it is closed, then only within its span', () => {
    const index = new BindingIndex();
    index.add({ id: 'bnd_1', sessionId: 'ses_1', address: '100.64.0.10', start: T, end: null });
    assert.equal(index.resolve('100.64.0.10', T + 1e12)?.end, null);
    assert.equal(index.openAt('100.64.0.10')?.id, 'bnd_1');
    assert.equal(index.close('bnd_1', T + MINUTE), true);
    assert.equal(index.resolve('100.64.0.10', T)?.end, T + MINUTE);
    assert.equal(holder(index, '100.64.0.10', T + MINUTE), undefined);
    assert.equal(index.openAt('100.64.0.10'), undefined);
    assert.equal(index.close('bnd_1', T + 2 * MINUTE), false, 'an ended binding is not closed again');
    assert.equal(index.close('bnd_9', T), false);
    assert.equal(index.resolve('100.64.0.10', T)?.end, T + MINUTE);
  });

  it('finds an old binding still open behind later, ended ones', () => {
    const index = new BindingIndex();
    index.add({ id: 'bnd_old', sessionId: 'ses_old', address: '100.64.0.10', start: T, end: null });
    for (let i = 1; i <= 50; i++) index.add({ id: `bnd_${i}`, sessionId: `ses_${i}`, address: '100.64.0.10', start: T + i * MINUTE, end: T + i * MINUTE + 1 });
    assert.equal(holder(index, '100.64.0.10', T + 20 * MINUTE), 'ses_20', 'the one started last wins');
    assert.equal(holder(index, '100.64.0.10', T + 20 * MINUTE + 1), 'ses_old');
    assert.equal(holder(index, '100.64.0.10', T + 90 * MINUTE), 'ses_old');
  });

  it('forgets a removed binding entirely and lets its id be added again', () => {
    const index = new BindingIndex();
    index.add({ id: 'bnd_1', sessionId: 'ses_1', address: '100.64.0.10', start: T, end: null });
    index.add({ id: 'bnd_2', sessionId: 'ses_2', address: '100.64.0.10', start: T + MINUTE, end: null });
    assert.equal(holder(index, '100.64.0.10', T + 2 * MINUTE), 'ses_2');
    assert.equal(index.remove('bnd_2'), true);
    assert.equal(index.remove('bnd_2'), false);
    assert.equal(holder(index, '100.64.0.10', T + 2 * MINUTE), 'ses_1');
    assert.equal(index.get('bnd_2'), undefined);
    assert.equal(index.size, 1);
    assert.equal(index.remove('bnd_1'), true);
    assert.equal(holder(index, '100.64.0.10', T + 2 * MINUTE), undefined);
    assert.equal(index.openAt('100.64.0.10'), undefined);
    assert.equal(index.size, 0);
    index.add({ id: 'bnd_1', sessionId: 'ses_3', address: '100.64.0.10', start: T, end: null });
    assert.equal(holder(index, '100.64.0.10', T), 'ses_3');
  });

  it('of two bindings started in the same millisecond, answers with the one added last', () => {
    const index = new BindingIndex();
    index.add({ id: 'bnd_1', sessionId: 'ses_1', address: '100.64.0.10', start: T, end: null });
    index.add({ id: 'bnd_2', sessionId: 'ses_2', address: '100.64.0.10', start: T, end: T + MINUTE });
    assert.equal(holder(index, '100.64.0.10', T), 'ses_2');
    assert.equal(holder(index, '100.64.0.10', T + MINUTE), 'ses_1');
  });

  it('finds IPv6 and IPv4-mapped bindings under any spelling', () => {
    const index = new BindingIndex();
    index.add({ id: 'bnd_6', sessionId: 'ses_6', address: '2001:db8:0:0:0:0:0:1', start: T, end: null });
    index.add({ id: 'bnd_4', sessionId: 'ses_4', address: '::ffff:198.51.100.7', start: T, end: null });
    assert.equal(holder(index, '2001:db8::1', T), 'ses_6');
    assert.equal(holder(index, '2001:0DB8:0000::0001', T), 'ses_6');
    assert.equal(holder(index, '2001:db8::2', T), undefined);
    assert.equal(holder(index, '198.51.100.7', T), 'ses_4');
    assert.equal(holder(index, '::ffff:c633:6407', T), 'ses_4');
    assert.equal(index.resolve('198.51.100.7', T)?.address, '198.51.100.7');
  });

  it('answers undefined for a malformed address, time or port', () => {
    const index = new BindingIndex();
    index.add({ id: 'bnd_1', sessionId: 'ses_1', address: '100.64.0.10', start: T, end: null });
    for (const address of ['100.64.0.010', '100.64.0', 'example.net', '', '::ffff:100.64.0.1000']) assert.equal(index.resolve(address, T), undefined, address);
    assert.equal(index.resolve('100.64.0.10', Number.NaN), undefined);
    for (const port of [-1, 65536, 1.5, Number.NaN]) assert.equal(index.resolve('100.64.0.10', T, port), undefined, String(port));
    assert.equal(index.isPortBlocked('nonsense', T), false);
    assert.equal(index.openAt('nonsense'), undefined);
  });

  it('refuses a binding it could not answer for, and changes nothing', () => {
    const index = new BindingIndex();
    index.add({ id: 'bnd_1', sessionId: 'ses_1', address: '100.64.0.10', start: T, end: null });
    const code = (code: string) => (e: SidebandError) => e.code === code;
    assert.throws(() => index.add({ id: 'bnd_2', sessionId: 's', address: '100.64.0.256', start: T, end: null }), code('ADDRESS_INVALID'));
    assert.throws(() => index.add({ id: 'bnd_1', sessionId: 's', address: '100.64.0.11', start: T, end: null }), code('INTERNAL'));
    assert.throws(() => index.add({ id: 'bnd_2', sessionId: 's', address: '100.64.0.11', start: T, end: T - 1 }), code('INTERNAL'));
    assert.throws(() => index.add({ id: 'bnd_2', sessionId: 's', address: '100.64.0.11', start: Number.NaN, end: null }), code('INTERNAL'));
    assert.throws(() => index.add({ id: 'bnd_2', sessionId: 's', address: '100.64.0.11', portFirst: 2048, start: T, end: null }), code('INTERNAL'));
    assert.throws(() => index.add({ id: 'bnd_2', sessionId: 's', address: '100.64.0.11', portFirst: 4096, portLast: 2048, start: T, end: null }), code('INTERNAL'));
    assert.throws(() => index.add({ id: 'bnd_2', sessionId: 's', address: '100.64.0.11', portFirst: 0, portLast: 65536, start: T, end: null }), code('INTERNAL'));
    assert.throws(() => index.close('bnd_1', T - 1), code('INTERNAL'));
    assert.equal(index.size, 1);
    assert.equal(index.resolve('100.64.0.11', T), undefined);
    assert.equal(index.resolve('100.64.0.10', T + 1)?.end, null);
  });

  it('keeps ids and session ids outside Latin-1, or long, exactly', () => {
    const index = new BindingIndex();
    const long = `ses_${'x'.repeat(300)}`;
    index.add({ id: 'bnd_ünï', sessionId: 'ses_☃', address: '100.64.0.1', start: T, end: null });
    index.add({ id: 'bnd_€', sessionId: long, address: '100.64.0.2', start: T, end: null });
    assert.equal(holder(index, '100.64.0.1', T), 'ses_☃');
    assert.equal(index.resolve('100.64.0.2', T)?.id, 'bnd_€');
    assert.equal(holder(index, '100.64.0.2', T), long);
    assert.equal(index.remove('bnd_€'), true);
    assert.equal(index.get('bnd_ünï')?.sessionId, 'ses_☃');
  });
});
