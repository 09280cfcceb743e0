// Longest-prefix match over lengths of every kind (not only multiples of 8, /1 to /127),
// nested and side by side, added, closed, removed and added again in any order, against a
// plain scan: the prefix tables' marks (PortBlockLists.prefixLengths) must never hide a
// longer prefix. Written by a review of 7b7f081.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BindingIndex } from '../../../src/core/resolution/binding-index.ts';
import type { Binding } from '../../../src/core/resolution/binding.ts';

const LENGTHS = [1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 40, 47, 48, 49, 55, 56, 57, 63, 64, 65, 96, 112, 120, 126, 127];
const BASES = [0x2001_0db8_00ab_cd12_0000_0000_0000_0001n, 0x2001_0db8_00ab_cd00_8000_0000_0000_0007n, 0xa001_0db8_0001_cd12_0000_0000_0000_0001n, 0x2001_0db9_ffff_ffff_ffff_ffff_ffff_fffen, 0x0000_0000_0000_0000_0000_0001_0000_0001n];
const MASK = (1n << 128n) - 1n;
const net = (v: bigint, len: number) => v & (MASK ^ ((1n << BigInt(128 - len)) - 1n));
const text = (v: bigint) => Array.from({ length: 8 }, (_, g) => ((v >> BigInt(112 - 16 * g)) & 0xffffn).toString(16)).join(':');

type Op =
  | { op: 'add'; id: number; session: number; base: number; len: number; start: number; dur: number | null }
  | { op: 'close'; id: number; end: number }
  | { op: 'remove'; id: number }
  | { op: 'query'; base: number; flip: number; at: number; port: number | undefined };

const op = (ids: number, lengths: number[]): fc.Arbitrary<Op> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.record({ op: fc.constant('add' as const), id: fc.nat(ids - 1), session: fc.nat(99), base: fc.nat(BASES.length - 1), len: fc.constantFrom(...lengths), start: fc.nat(40), dur: fc.option(fc.nat(30), { freq: 3 }) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('close' as const), id: fc.nat(ids - 1), end: fc.nat(80) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('remove' as const), id: fc.nat(ids - 1) }) },
    { weight: 4, arbitrary: fc.record({ op: fc.constant('query' as const), base: fc.nat(BASES.length - 1), flip: fc.integer({ min: -1, max: 127 }), at: fc.integer({ min: -1, max: 81 }), port: fc.constantFrom(undefined, 80) }) },
  );

interface Row { b: Binding; net: bigint; len: number; seq: number }

function run(ops: Op[]): void {
  const index = new BindingIndex({ capacity: 2 });
  let rows: Row[] = [];
  let seq = 0;
  for (const o of ops) {
    if (o.op === 'add') {
      const id = `b${o.id}`;
      const n = net(BASES[o.base]!, o.len);
      const b: Binding = { id, sessionId: `s${o.session}`, address: text(n), prefixLength: o.len, start: o.start, end: o.dur === null ? null : o.start + o.dur };
      const dup = rows.some((r) => r.b.id === id);
      let threw = false;
      try { index.add(b); } catch { threw = true; }
      assert.equal(threw, dup, `add ${JSON.stringify(b)}`);
      if (!dup) rows.push({ b, net: n, len: o.len, seq: seq++ });
    } else if (o.op === 'close') {
      const r = rows.find((x) => x.b.id === `b${o.id}`);
      const expect = !!r && r.b.end === null && o.end >= r.b.start;
      let got: boolean | 'threw';
      try { got = index.close(`b${o.id}`, o.end); } catch { got = 'threw'; }
      if (r && r.b.end === null && o.end < r.b.start) assert.equal(got, 'threw');
      else assert.equal(got, expect);
      if (expect) r!.b = { ...r!.b, end: o.end };
    } else if (o.op === 'remove') {
      const had = rows.some((x) => x.b.id === `b${o.id}`);
      assert.equal(index.remove(`b${o.id}`), had);
      rows = rows.filter((x) => x.b.id !== `b${o.id}`);
    } else {
      let a = BASES[o.base]!;
      if (o.flip >= 0) a ^= 1n << BigInt(o.flip);
      if (a >> 80n === 0xffffn) continue; // ::ffff:a.b.c.d is keyed as IPv4
      const held = rows.filter((r) => r.b.start <= o.at && (r.b.end === null || o.at < r.b.end) && net(a, r.len) === r.net);
      const longest = Math.max(-1, ...held.map((r) => r.len));
      const best = held.filter((r) => r.len === longest).reduce<Row | undefined>((x, r) => (!x || r.b.start > x.b.start || (r.b.start === x.b.start && r.seq > x.seq) ? r : x), undefined);
      const got = index.resolve(text(a), o.at, o.port);
      assert.equal(got?.id, best?.b.id, `resolve ${text(a)} at ${o.at}: ${got?.id} (/${got?.prefixLength}) vs ${best?.b.id} (/${best?.len})`);
    }
  }
}

describe('longest-prefix match over any lengths, against a scan', () => {
  it('agrees with lengths from /1 to /127, nested and disjoint, added in any order', () => {
    fc.assert(fc.property(fc.array(op(40, LENGTHS), { minLength: 10, maxLength: 300 }), run), { numRuns: 1500 });
  });
  it('agrees with few lengths and long reuse histories', () => {
    fc.assert(fc.property(fc.array(op(12, [1, 33, 56, 64, 127]), { minLength: 50, maxLength: 400 }), run), { numRuns: 500 });
  });
  it('agrees when tables grow (many networks per length) while marking', () => {
    // Many distinct /64s and /60s beside a /48 and a /33 that appear late.
    const index = new BindingIndex({ capacity: 2 });
    const base = 0x2001_0db8_00ab_0000_0000_0000_0000_0000n;
    let n = 0;
    for (let i = 0; i < 5000; i++) index.add({ id: `x${n++}`, sessionId: `s${i}`, address: text(base | (BigInt(i) << 64n)), prefixLength: 64, start: 0, end: null });
    for (let i = 0; i < 3000; i++) index.add({ id: `x${n++}`, sessionId: `t${i}`, address: text(net(base | (BigInt(i * 16 + 9000 * 16) << 64n), 60)), prefixLength: 60, start: 0, end: null });
    index.add({ id: 'wide', sessionId: 'w', address: text(net(base, 33)), prefixLength: 33, start: 0, end: null });
    index.add({ id: 'mid', sessionId: 'm', address: text(net(base, 48)), prefixLength: 48, start: 0, end: null });
    for (let i = 0; i < 5000; i += 37) assert.equal(index.resolve(text(base | (BigInt(i) << 64n) | 5n), 1)?.sessionId, `s${i}`);
    for (let i = 0; i < 3000; i += 29) assert.equal(index.resolve(text(base | (BigInt(i * 16 + 9000 * 16 + 3) << 64n) | 5n), 1)?.sessionId, `t${i}`);
    assert.equal(index.resolve(text(base | (0xfffen << 64n)), 1)?.sessionId, 'm');
    assert.equal(index.resolve(text(base | (1n << 90n)), 1)?.sessionId, 'w');
  });
});
