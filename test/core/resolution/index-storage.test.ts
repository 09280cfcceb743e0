import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseAddressKey } from '../../../src/core/resolution/address-key.ts';
import { AddressTable } from '../../../src/core/resolution/address-table.ts';
import { IdTable } from '../../../src/core/resolution/id-table.ts';
import { SortedListArena } from '../../../src/core/resolution/sorted-list-arena.ts';
import { SlotTexts } from '../../../src/core/resolution/slot-texts.ts';

// The index's parts are checked here at sizes the model test never reaches: growth past
// the initial tables, lists leaving their headers, and reuse of freed space.
describe('index storage', () => {
  it('slot texts keep both texts exactly, in bytes or as strings, across pages and through reuse', () => {
    const texts = new SlotTexts();
    const expected: ([string, string] | undefined)[] = [];
    const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 10 }), fc.string({ minLength: 60, maxLength: 300 }), fc.constant('bnd_01J0000000000000000000000A'));
    const [steps] = fc.sample(fc.array(fc.tuple(fc.nat(39999), text, text, fc.nat(4)), { minLength: 20000, maxLength: 20000 }), { numRuns: 1, seed: 42 });
    texts.reserve(40000);
    for (const [slot, first, second, choice] of steps!) {
      if (choice === 0) {
        texts.clear(slot);
        expected[slot] = undefined;
      } else {
        texts.set(slot, first, second);
        expected[slot] = [first, second];
      }
    }
    texts.reserve(80000);
    for (let slot = 0; slot < 40000; slot++) {
      const pair = expected[slot];
      if (pair === undefined) continue;
      assert.deepEqual(texts.both(slot), pair);
      assert.equal(texts.firstIs(slot, pair[0]), true);
      assert.equal(texts.firstIs(slot, `${pair[0]}x`), false);
    }
  });

  it('id table finds what a Map finds through growth and deletions', () => {
    const ids: string[] = [];
    const table = new IdTable((slot, id) => ids[slot] === id);
    const reference = new Map<string, number>();
    let seed = 7;
    const next = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const free: number[] = [];
    let used = 0;
    for (let step = 0; step < 120000; step++) {
      // Ids of one prefix and near-equal suffixes, as Sideband's time-ordered ids are.
      const id = `bnd_01J0000000${next(30000).toString(32).padStart(8, '0')}`;
      const slot = table.find(id);
      assert.equal(slot, reference.get(id) ?? -1);
      if (slot === -1) {
        const fresh = free.pop() ?? used++;
        ids[fresh] = id;
        table.insert(fresh, id);
        reference.set(id, fresh);
      } else if (next(3) === 0) {
        table.delete(slot, id);
        ids[slot] = '';
        reference.delete(id);
        free.push(slot);
      }
      assert.equal(table.size, reference.size);
    }
    for (const [id, slot] of reference) assert.equal(table.find(id), slot);
  });

  it('sorted list arena keeps many growing and shrinking lists apart, in their headers or in blocks', () => {
    // Values are their own keys, inserted in order; distinct values make every count exact.
    const arena = new SortedListArena(2, (value) => value);
    const owner = (list: number, word: number): number => arena.header[list * arena.stride + arena.ownerWord + word]!;
    const reference = new Map<number, number[]>();
    let seed = 11;
    const next = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const read = (list: number): number[] => Array.from({ length: arena.lengthOf(list) }, (_, i) => arena.at(list, i));
    for (let step = 0; step < 60000; step++) {
      const lists = [...reference.keys()];
      const choice = next(10);
      if (lists.length < 5 || choice === 0) {
        const list = arena.create();
        assert.equal(reference.has(list), false);
        assert.equal(owner(list, 0), 0);
        arena.header[list * arena.stride + arena.ownerWord] = list + 1;
        arena.header[list * arena.stride + arena.ownerWord + 1] = -(list + 1);
        reference.set(list, []);
        continue;
      }
      const list = lists[next(lists.length)]!;
      const values = reference.get(list)!;
      if (choice === 1 && values.length > 0) {
        const at = next(values.length);
        arena.removeAt(list, at);
        values.splice(at, 1);
      } else if (choice === 2 && values.length === 0) {
        arena.release(list);
        reference.delete(list);
      } else {
        const value = next(30000) * 60000 + step;
        const at = arena.countUpTo(list, value);
        assert.equal(at, values.filter((v) => v <= value).length);
        arena.insert(list, at, value);
        values.splice(at, 0, value);
      }
    }
    for (const [list, values] of reference) {
      assert.deepEqual(read(list), values);
      for (const probe of [...values.slice(0, 20), -1, 1e15]) assert.equal(arena.countUpTo(list, probe), values.filter((v) => v <= probe).length);
      assert.deepEqual([owner(list, 0), owner(list, 1)], [list + 1, -(list + 1)], 'the owner\'s words survive moves of the list');
    }
    assert.ok(Math.max(...[...reference.values()].map((v) => v.length)) > 8, 'some lists spilled into blocks');
  });

  it('sorted list arena counts keys up to a bound exactly on long lists, however unevenly their keys are spread', () => {
    // Long lists are searched from an interpolated guess: these spreads defeat the guess.
    const spreads: Record<string, (i: number) => number> = {
      even: (i) => 1_700_000_000_000 + i * 3_600_000,
      clustered: (i) => (i % 50 === 0 ? i * 1e9 : Math.floor(i / 50) * 1e9 + 1),
      repeated: (i) => Math.floor(i / 97),
      growing: (i) => 2 ** (i / 4),
      extremes: (i) => (i === 0 ? -Number.MAX_VALUE : i === 1 ? Number.MAX_VALUE : i),
    };
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(spreads)), fc.integer({ min: 9, max: 1500 }), fc.array(fc.double({ noNaN: true }), { maxLength: 20 }), (name, length, extra) => {
        const values = Array.from({ length }, (_, i) => spreads[name]!(i)).sort((a, b) => a - b);
        const arena = new SortedListArena(0, (slot) => values[slot]!);
        const list = arena.create();
        for (let slot = 0; slot < length; slot++) arena.insert(list, slot, slot);
        const probes = [...extra, ...values.filter((_, i) => i % 7 === 0), ...values.map((v) => v + 0.5).slice(0, 40), -Infinity, Infinity];
        for (const probe of probes) assert.equal(arena.countUpTo(list, probe), values.filter((v) => v <= probe).length, `${name}, ${length} keys, probe ${probe}`);
      }),
      { numRuns: 200 },
    );
  });

  it('address table maps IPv4 and IPv6 keys through growth, storing -1 without losing the key', () => {
    const table = new AddressTable();
    const v4 = (i: number): number => (0xc6120000 + i * 7919) >>> 0;
    const v6 = (i: number): string => parseAddressKey(`2001:db8:${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}::${((i * 31) & 0xffff).toString(16)}`) as string;
    for (let i = 0; i < 50000; i++) {
      table.set(v4(i), i);
      table.set(v6(i), i + 1);
    }
    table.set(v4(0), -1);
    assert.equal(table.get(v4(0)), -1);
    for (let i = 1; i < 50000; i++) {
      assert.equal(table.get(v4(i)), i);
      assert.equal(table.get(v6(i)), i + 1);
    }
    assert.equal(table.get(v6(50000)), -1);
    assert.equal(table.get(parseAddressKey('2001:db8::1')!), -1);
    assert.equal(table.get(0x01020304), -1);
    table.set(v4(0), 9);
    assert.equal(table.get(v4(0)), 9);
  });

  it('address table keeps extra words beside each value through growth, -1 until set', () => {
    const table = new AddressTable(2);
    const v4 = (i: number): number => (0x64400000 + i * 104729) >>> 0;
    const v6 = (i: number): string => parseAddressKey(`2001:db8::${(i & 0xffff).toString(16)}:${(i >>> 16).toString(16)}`) as string;
    for (let i = 0; i < 30000; i++) {
      for (const key of [v4(i), v6(i)]) {
        table.set(key, i);
        table.get(key);
        if (i % 3 !== 0) table.setExtraOfFound(0, 2 * i);
        if (i % 5 !== 0) table.setExtraOfFound(1, -3 - i);
      }
    }
    for (let i = 0; i < 30000; i++) {
      for (const key of [v4(i), v6(i)]) {
        assert.equal(table.get(key), i);
        assert.deepEqual([table.extraOfFound(0), table.extraOfFound(1)], [i % 3 !== 0 ? 2 * i : -1, i % 5 !== 0 ? -3 - i : -1]);
      }
    }
    assert.equal(table.get(v4(30000)), -1);
    assert.deepEqual([table.extraOfFound(0), table.extraOfFound(1)], [-1, -1], 'a key not held has no extra words');
  });
});
