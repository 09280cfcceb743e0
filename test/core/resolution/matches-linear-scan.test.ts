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

/**
 * A shared (CGNAT) address: a run of disjoint blocks long enough for a directory, blocks
 * overlapping them, and the whole address, which may also have been bound in its history.
 */
const CGNAT_BLOCKS: ([number, number] | undefined)[] = [
  ...Array.from({ length: 12 }, (_, b): [number, number] => [2048 * (b + 1), 2048 * (b + 2) - 1]),
  [0, 65535],
  undefined,
  [0, 4095],
  [3000, 9000],
  [60000, 65535],
  [2048, 2048],
];
const CGNAT_PORTS = [undefined, 0, 2047, 2048, 2049, 4095, 4096, 5000, 9000, 9001, 24575, 26623, 26624, 60000, 65535];

/**
 * IPv6 prefixes (network, length) and the addresses asked, each spelled as a caller might
 * with its canonical text: inside one, two or none of the prefixes.
 */
const PREFIXES: [string, number][] = [['2001:db8:0:100::', 56], ['2001:db8:0:1ab::', 64], ['2001:db8::', 32], ['2001:db8:0:1ab::', 64], ['2001:db8:0:200::', 56]];
const V6_SPELLINGS: [string, string][] = [
  ['2001:db8:0:1ab::9', '2001:db8:0:1ab::9'],
  ['2001:0DB8:0:01AB:0:0:0:9', '2001:db8:0:1ab::9'],
  ['2001:db8:0:1ff:ffff::1', '2001:db8:0:1ff:ffff::1'],
  ['2001:db8:0:200::', '2001:db8:0:200::'],
  ['2001:db8:ffff::1', '2001:db8:ffff::1'],
  ['2001:db9::1', '2001:db9::1'],
];

interface Row { binding: Binding; canonical: string; first: number; last: number; seq: number; prefixLength: number }

/** The 128 bits of canonical IPv6 text, for the model's own containment test. */
function bits(canonical: string): bigint {
  const [head, tail] = canonical.includes('::') ? canonical.split('::') : [canonical, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.reduce((v, g) => (v << 16n) | BigInt(parseInt(g, 16)), 0n);
}

function inside(canonical: string, network: string, length: number): boolean {
  if (!canonical.includes(':')) return false;
  const shift = BigInt(128 - length);
  return bits(canonical) >> shift === bits(network) >> shift;
}

function held(r: Row, at: number): boolean {
  return r.binding.start <= at && (r.binding.end === null || at < r.binding.end);
}

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
    const prefixLength = b.prefixLength ?? 0;
    const binding: Binding = prefixLength > 0
      ? { id: b.id, sessionId: b.sessionId, address: canonical, prefixLength, start: b.start, end: b.end }
      : whole
        ? { id: b.id, sessionId: b.sessionId, address: canonical, start: b.start, end: b.end }
        : { ...b, address: canonical };
    this.rows.push({ binding, canonical, first: whole ? 0 : b.portFirst!, last: whole ? 65535 : b.portLast!, seq: this.added++, prefixLength });
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
    return this.latest(this.rows.filter((r) => r.prefixLength === 0 && r.canonical === canonical && held(r, at) && (port === undefined || (r.first <= port && port <= r.last))));
  }

  /** The address's own binding; failing that, of the prefixes held at `at` that contain it, the longest's. */
  resolve(canonical: string, at: number, port: number | undefined): Binding | undefined {
    const w = this.winner(canonical, at, port);
    if (w && (port !== undefined || (w.first === 0 && w.last === 65535))) return w.binding;
    const prefixes = this.rows.filter((r) => r.prefixLength > 0 && held(r, at) && inside(canonical, r.canonical, r.prefixLength));
    const longest = Math.max(-1, ...prefixes.map((r) => r.prefixLength));
    return this.latest(prefixes.filter((r) => r.prefixLength === longest))?.binding;
  }

  isPortBlocked(canonical: string, at: number): boolean {
    const w = this.winner(canonical, at, undefined);
    return w !== undefined && (w.first !== 0 || w.last !== 65535);
  }

  openAt(canonical: string, port: number | undefined): Binding | undefined {
    return this.latest(this.rows.filter((r) => r.prefixLength === 0 && r.canonical === canonical && r.binding.end === null && (port === undefined || (r.first <= port && port <= r.last))))?.binding;
  }
}

/** What a run binds and asks: addresses as spelled with their canonical text, port blocks, ports, IPv6 prefixes. */
interface World {
  spellings: [string, string][];
  blocks: ([number, number] | undefined)[];
  ports: (number | undefined)[];
  prefixes: [string, number][];
}

const MIXED: World = { spellings: SPELLINGS, blocks: BLOCKS, ports: PORTS, prefixes: [] };
/** Narrowed to two spellings of one address and two blocks, so that the lists grow long. */
const NARROW: World = { spellings: SPELLINGS.slice(0, 2), blocks: BLOCKS.slice(0, 2), ports: PORTS, prefixes: [] };
const SHARED: World = { spellings: [['198.18.0.7', '198.18.0.7'], ['::ffff:198.18.0.7', '198.18.0.7'], ['198.18.0.8', '198.18.0.8']], blocks: CGNAT_BLOCKS, ports: CGNAT_PORTS, prefixes: [] };
/**
 * Addresses, IPv4 and IPv6, that are mostly bound whole, by few ids: each swings between
 * one binding, two, more, a port block beside them and back, which the address table's
 * copy of an address's latest two bindings must follow.
 */
const SOLE: World = {
  spellings: [['100.64.0.1', '100.64.0.1'], ['::ffff:100.64.0.1', '100.64.0.1'], ['100.64.0.2', '100.64.0.2'], ['2001:db8::1', '2001:db8::1'], ['2001:0DB8:0:0:0:0:0:1', '2001:db8::1']],
  blocks: [undefined, undefined, undefined, [0, 65535], [1024, 2047]],
  ports: [undefined, 0, 1024, 1500, 65535],
  prefixes: [],
};
const DUAL_STACK: World = { spellings: V6_SPELLINGS, blocks: [undefined, [0, 1023], [1024, 65535]], ports: [undefined, 0, 1024, 65535], prefixes: PREFIXES };
/**
 * Prefixes of five lengths nested inside one another and beside one another, added in
 * any order: a lookup probes the lengths shortest first and goes on only where a longer
 * prefix lies inside (PortBlockLists.prefixLengths), so a length first held after longer
 * ones, a network that holds nothing itself and a mark left by a removed prefix all
 * come up.
 */
const NESTED: World = {
  spellings: [
    ['2001:db8:ab:cd12::1', '2001:db8:ab:cd12::1'],
    ['2001:db8:ab:cd00::7', '2001:db8:ab:cd00::7'],
    ['2001:db8:ab:cdff:1::', '2001:db8:ab:cdff:1::'],
    ['2001:db8:ab:1::9', '2001:db8:ab:1::9'],
    ['2001:db8:ab00::1', '2001:db8:ab00::1'],
    ['2001:db8:1:cd12::1', '2001:db8:1:cd12::1'],
    ['2001:db8:ab:cd10::', '2001:db8:ab:cd10::'],
  ],
  blocks: [undefined],
  ports: [undefined, 80],
  prefixes: [['2001:db8:ab:cd12::', 64], ['2001:db8:ab:cd10::', 60], ['2001:db8:ab:cd00::', 56], ['2001:db8:ab::', 48], ['2001:db8::', 40], ['2001:db8:1:cd12::', 64], ['2001:db8:ab:cd00::', 64]],
};

const time = fc.integer({ min: 0, max: 60 });
const operation = (ids: number, world: World) => {
  const id = fc.integer({ min: 0, max: ids - 1 }).map((n) => `bnd_${n}`);
  const spelling = fc.integer({ min: 0, max: world.spellings.length - 1 });
  // An address binding with one of the blocks, or (past them) one of the prefixes.
  const target = fc.integer({ min: 0, max: world.blocks.length + world.prefixes.length - 1 });
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ op: fc.constant('add' as const), id, session: fc.nat(999), spelling, target, start: time, length: fc.option(fc.integer({ min: 0, max: 25 }), { freq: 3 }) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('close' as const), id, end: fc.integer({ min: 0, max: 90 }) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('remove' as const), id }) },
    { weight: 4, arbitrary: fc.record({ op: fc.constant('query' as const), id, spelling, at: fc.integer({ min: -1, max: 91 }), port: fc.constantFrom(...world.ports) }) },
  );
};

type Operation = ReturnType<typeof operation> extends fc.Arbitrary<infer T> ? T : never;

function run(world: World, ops: Operation[]): void {
  const index = new BindingIndex({ capacity: 4 });
  const model = new LinearScan();
  for (const o of ops) {
    switch (o.op) {
      case 'add': {
        const end = o.length === null ? null : o.start + o.length;
        let b: Binding;
        let canonical: string;
        if (o.target < world.blocks.length) {
          const [address, text] = world.spellings[o.spelling]!;
          const block = world.blocks[o.target];
          b = { id: o.id, sessionId: `ses_${o.session}`, address, ...(block ? { portFirst: block[0], portLast: block[1] } : {}), start: o.start, end };
          canonical = text;
        } else {
          const [network, prefixLength] = world.prefixes[o.target - world.blocks.length]!;
          b = { id: o.id, sessionId: `ses_${o.session}`, address: network, prefixLength, start: o.start, end };
          canonical = network;
        }
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
        const [address, canonical] = world.spellings[o.spelling]!;
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
    fc.assert(fc.property(fc.array(operation(8, MIXED), { maxLength: 60, size: 'max' }), (ops) => run(MIXED, ops)), { numRuns: 1500 });
  });

  it('agrees over long histories that reuse addresses, blocks and ids', () => {
    fc.assert(fc.property(fc.array(operation(80, MIXED), { minLength: 100, maxLength: 400 }), (ops) => run(MIXED, ops)), { numRuns: 150 });
  });

  it('agrees when one address and block hold histories long enough to leave the list header', () => {
    fc.assert(fc.property(fc.array(operation(60, NARROW), { minLength: 100, maxLength: 300 }), (ops) => run(NARROW, ops)), { numRuns: 150 });
  });

  it('agrees on a shared address whose many port blocks, overlapping and whole, are found through its directory', () => {
    fc.assert(fc.property(fc.array(operation(80, SHARED), { minLength: 50, maxLength: 400 }), (ops) => run(SHARED, ops)), { numRuns: 200 });
  });

  it('agrees on addresses bound whole by one binding, then two or more, a port block and removals back to one', () => {
    fc.assert(fc.property(fc.array(operation(6, SOLE), { minLength: 10, maxLength: 200 }), (ops) => run(SOLE, ops)), { numRuns: 600 });
  });

  it('agrees on IPv6 addresses and prefixes, longest prefix held at the time first', () => {
    fc.assert(fc.property(fc.array(operation(40, DUAL_STACK), { minLength: 20, maxLength: 300 }), (ops) => run(DUAL_STACK, ops)), { numRuns: 300 });
  });

  it('agrees on prefixes of five lengths nested in one another, whatever order their lengths first come in', () => {
    fc.assert(fc.property(fc.array(operation(30, NESTED), { minLength: 10, maxLength: 200 }), (ops) => run(NESTED, ops)), { numRuns: 400 });
  });
});
