import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BindingIndex } from '../../../src/core/resolution/binding-index.ts';
import type { Binding } from '../../../src/core/resolution/binding.ts';

/** Spellings the index must treat as one address, with the canonical text written out by hand. */
const SPELLINGS: [string, string][] = [
  ['100.64.0.1', '100.64.0.1'],
  ['::ffff:100.64.0.1', '100.64.0.1'],
  ['::FFFF:6440:1', '100.64.0.1'],
  ['198.18.0.7', '198.18.0.7'],
  ['2001:db8::1', '2001:db8::1'],
  ['2001:0DB8:0:0:0:0:0:1', '2001:db8::1'],
  ['2001:db8::1:0', '2001:db8::1:0'],
];
const BLOCKS: ([number, number] | undefined)[] = [undefined, [0, 1023], [1024, 2047], [0, 2047], [1000, 1100], [0, 65535], [2048, 65535]];
const PORTS = [undefined, 0, 500, 1023, 1024, 1050, 2047, 2048, 65535];

interface Row { binding: Binding; canonical: string; first: number; last: number; seq: number }

/** The obvious, slow reading of the specification: scan every binding. */
class LinearScan {
  private rows: Row[] = [];
  private added = 0;

  get size(): number {
    return this.rows.length;
  }

  add(b: Binding, canonical: string): void {
    if (this.rows.some((r) => r.binding.id === b.id)) throw new Error('duplicate');
    const whole = b.portFirst === undefined || (b.portFirst === 0 && b.portLast === 65535);
    const binding: Binding = whole
      ? { id: b.id, sessionId: b.sessionId, address: canonical, start: b.start, end: b.end }
      : { ...b, address: canonical };
    this.rows.push({ binding, canonical, first: whole ? 0 : b.portFirst!, last: whole ? 65535 : b.portLast!, seq: this.added++ });
  }

  close(id: string, end: number): boolean {
    const row = this.rows.find((r) => r.binding.id === id);
    if (!row || row.binding.end !== null) return false;
    if (end < row.binding.start) throw new Error('end before start');
    row.binding = { ...row.binding, end };
    return true;
  }

  remove(id: string): boolean {
    const before = this.rows.length;
    this.rows = this.rows.filter((r) => r.binding.id !== id);
    return this.rows.length < before;
  }

  get(id: string): Binding | undefined {
    return this.rows.find((r) => r.binding.id === id)?.binding;
  }

  private latest(rows: Row[]): Row | undefined {
    return rows.reduce<Row | undefined>((best, r) => (!best || r.binding.start > best.binding.start || (r.binding.start === best.binding.start && r.seq > best.seq) ? r : best), undefined);
  }

  private winner(canonical: string, at: number, port: number | undefined): Row | undefined {
    return this.latest(this.rows.filter((r) => r.canonical === canonical && r.binding.start <= at && (r.binding.end === null || at < r.binding.end) && (port === undefined || (r.first <= port && port <= r.last))));
  }

  resolve(canonical: string, at: number, port: number | undefined): Binding | undefined {
    const w = this.winner(canonical, at, port);
    if (!w || (port === undefined && (w.first !== 0 || w.last !== 65535))) return undefined;
    return w.binding;
  }

  isPortBlocked(canonical: string, at: number): boolean {
    const w = this.winner(canonical, at, undefined);
    return w !== undefined && (w.first !== 0 || w.last !== 65535);
  }

  openAt(canonical: string, port: number | undefined): Binding | undefined {
    return this.latest(this.rows.filter((r) => r.canonical === canonical && r.binding.end === null && (port === undefined || (r.first <= port && port <= r.last))))?.binding;
  }
}

const time = fc.integer({ min: 0, max: 60 });
const port = fc.constantFrom(...PORTS);
/** `spellings` and `blocks` narrow the addresses and port blocks, so that the lists grow long. */
const operation = (ids: number, spellings = SPELLINGS.length, blocks = BLOCKS.length) => {
  const id = fc.integer({ min: 0, max: ids - 1 }).map((n) => `bnd_${n}`);
  const spelling = fc.integer({ min: 0, max: spellings - 1 });
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ op: fc.constant('add' as const), id, session: fc.nat(999), spelling, block: fc.integer({ min: 0, max: blocks - 1 }), start: time, length: fc.option(fc.integer({ min: 0, max: 25 }), { freq: 3 }) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('close' as const), id, end: fc.integer({ min: 0, max: 90 }) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('remove' as const), id }) },
    { weight: 4, arbitrary: fc.record({ op: fc.constant('query' as const), id, spelling, at: fc.integer({ min: -1, max: 91 }), port }) },
  );
};

type Operation = ReturnType<typeof operation> extends fc.Arbitrary<infer T> ? T : never;

function run(ops: Operation[]): void {
  const index = new BindingIndex({ capacity: 4 });
  const model = new LinearScan();
  for (const o of ops) {
    switch (o.op) {
      case 'add': {
        const [address, canonical] = SPELLINGS[o.spelling]!;
        const block = BLOCKS[o.block];
        const b: Binding = { id: o.id, sessionId: `ses_${o.session}`, address, ...(block ? { portFirst: block[0], portLast: block[1] } : {}), start: o.start, end: o.length === null ? null : o.start + o.length };
        const expected = outcome(() => model.add(b, canonical));
        assert.deepEqual(outcome(() => index.add(b)), expected, `add ${JSON.stringify(b)}`);
        break;
      }
      case 'close':
        assert.deepEqual(outcome(() => index.close(o.id, o.end)), outcome(() => model.close(o.id, o.end)), `close ${o.id} at ${o.end}`);
        break;
      case 'remove':
        assert.equal(index.remove(o.id), model.remove(o.id), `remove ${o.id}`);
        break;
      case 'query': {
        const [address, canonical] = SPELLINGS[o.spelling]!;
        assert.deepEqual(index.resolve(address, o.at, o.port), model.resolve(canonical, o.at, o.port), `resolve ${address} at ${o.at} port ${o.port}`);
        assert.equal(index.isPortBlocked(address, o.at), model.isPortBlocked(canonical, o.at), `isPortBlocked ${address} at ${o.at}`);
        assert.deepEqual(index.openAt(address, o.port), model.openAt(canonical, o.port), `openAt ${address} port ${o.port}`);
        assert.deepEqual(index.get(o.id), model.get(o.id), `get ${o.id}`);
        break;
      }
    }
    assert.equal(index.size, model.size);
  }
}

/** What a call returned, or that it threw: the index and the model must agree on both. */
function outcome(call: () => unknown): { value: unknown } | 'threw' {
  try {
    return { value: call() };
  } catch {
    return 'threw';
  }
}

describe('the binding index against a linear scan', () => {
  it('agrees on every answer over random histories of a few bindings', () => {
    fc.assert(fc.property(fc.array(operation(8), { maxLength: 60 }), run), { numRuns: 1500 });
  });

  it('agrees over long histories that reuse addresses, blocks and ids', () => {
    fc.assert(fc.property(fc.array(operation(80), { minLength: 100, maxLength: 400 }), run), { numRuns: 150 });
  });

  it('agrees when one address and block hold histories long enough to leave the list header', () => {
    fc.assert(fc.property(fc.array(operation(60, 2, 2), { minLength: 100, maxLength: 300 }), run), { numRuns: 150 });
  });
});
