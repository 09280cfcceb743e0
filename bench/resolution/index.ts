// Loads 1,000,000 bindings into a BindingIndex and times lookups (then 1,000,000 IPv6 prefix bindings apart). Addresses come from
// 100.64.0.0/10 (subscribers with a whole address) and 198.18.0.0/15 (CGNAT addresses
// shared by port blocks); they exist only in memory. Run: node -C sideband-source --import tsx bench/resolution/index.ts
import { availableParallelism, loadavg } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BindingIndex } from '../../src/core/resolution/binding-index.ts';
import { dotted, id, int, random } from './binding-data.ts';
import { answerHelp } from '../usage.ts';

answerHelp(import.meta.url);

const BINDINGS = 1_000_000;
const CGNAT_SHARE = 0.3;
const PORT_BLOCK = 2048;
const BLOCKS_PER_ADDRESS = 31; // ports 2048..65535; the well-known and low ports stay unshared
/** Lookups per round; each figure is the best of ROUNDS, as other work on the machine only slows a round. */
const LOOKUPS = 250_000;
const ROUNDS = 3;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2025, 0, 1);

// The RSS figures are only honest after a full collection; the bench is run without --expose-gc.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;



const SUBSCRIBER_BASE = (100 << 24) + (64 << 16); // 100.64.0.0/10
const SHARED_BASE = (198 << 24) + (18 << 16); // 198.18.0.0/15

/**
 * Each address (or port block) gets a history of back-to-back sessions of an hour to three
 * days, the last of them still open on about half. Some bindings are kept as hit samples,
 * in typed arrays so that they barely weigh on the memory figures.
 */
const SAMPLES = 250_000;
const sample = { address: new Uint32Array(SAMPLES), port: new Int32Array(SAMPLES), at: new Float64Array(SAMPLES), binding: new Int32Array(SAMPLES), count: 0 };
// Written through now, so that their pages are resident before the first RSS reading.
for (const column of [sample.address, sample.port, sample.at, sample.binding]) column.fill(0);
const sessionOf = (n: number): string => id('ses', n * 7 + 3);

function history(index: BindingIndex, address: number, portFirst: number, count: number, next: { n: number }): void {
  const text = dotted(address);
  let t = T0 + int(DAY);
  const open = random() < 0.5;
  for (let k = 0; k < count; k++) {
    const length = HOUR + int(3 * DAY);
    const end = k === count - 1 && open ? null : t + length;
    const n = next.n++;
    const b = portFirst < 0
      ? { id: id('bnd', n), sessionId: sessionOf(n), address: text, start: t, end }
      : { id: id('bnd', n), sessionId: sessionOf(n), address: text, portFirst, portLast: portFirst + PORT_BLOCK - 1, start: t, end };
    index.add(b);
    if (sample.count < SAMPLES && random() < SAMPLES / BINDINGS) {
      const i = sample.count++;
      sample.address[i] = address;
      sample.port[i] = portFirst < 0 ? -1 : portFirst + int(PORT_BLOCK);
      sample.at[i] = t + int(end === null ? DAY : length);
      sample.binding[i] = n;
    }
    t += length + int(HOUR);
  }
}

/**
 * Three kinds of history: CGNAT port blocks reassigned a few to a few dozen times; a
 * subscriber pool whose addresses each held one to four sessions; and a pool with a year's
 * retention, each address held by fifty to four hundred sessions in turn.
 */
function load(index: BindingIndex): void {
  const next = { n: 0 };
  const shared = Math.round(BINDINGS * CGNAT_SHARE);
  const short = shared + Math.round((BINDINGS - shared) / 2);
  for (let a = 0; next.n < shared; a++) {
    for (let b = 0; b < BLOCKS_PER_ADDRESS && next.n < shared; b++) history(index, SHARED_BASE + a, PORT_BLOCK * (b + 1), Math.min(2 + int(30), shared - next.n), next);
  }
  let a = 0;
  for (; next.n < short; a += 1 + int(3)) history(index, SUBSCRIBER_BASE + a, -1, Math.min(1 + int(4), short - next.n), next);
  for (; next.n < BINDINGS; a += 1 + int(3)) history(index, SUBSCRIBER_BASE + a, -1, Math.min(50 + int(351), BINDINGS - next.n), next);
}

const mb = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MB`;
function memory(): { rss: number; heap: number } {
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed + m.arrayBuffers };
}

/** Runs `lookup` for i in 0..LOOKUPS-1, ROUNDS times, and prints the best rate and how many answered. */
function time(label: string, lookup: (i: number) => boolean): void {
  let best = Infinity;
  let answered = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const began = process.hrtime.bigint();
    answered = 0;
    for (let i = 0; i < LOOKUPS; i++) if (lookup(i)) answered++;
    best = Math.min(best, Number(process.hrtime.bigint() - began) / 1e9);
  }
  console.log(`${label.padEnd(44)} ${(LOOKUPS / best / 1e6).toFixed(2)} M/s  (${answered.toLocaleString('en')} of ${LOOKUPS.toLocaleString('en')} answered)`);
}

const before = memory();
console.log(`rss before load                              ${mb(before.rss)}`);
const index = new BindingIndex();
const began = process.hrtime.bigint();
load(index);
const loadSeconds = Number(process.hrtime.bigint() - began) / 1e9;
console.log(`loaded                                       ${index.size.toLocaleString('en')} bindings in ${loadSeconds.toFixed(2)} s`);
const loaded = memory();
console.log(`rss after load                               ${mb(loaded.rss)} (+${mb(loaded.rss - before.rss)}; JS heap + array buffers +${mb(loaded.heap - before.heap)})`);

// Queries are text, as they arrive, so that parsing the address is part of each lookup.
// In load order, neighbouring queries share cache lines, as a stream of flows from the
// same busy subscribers does; shuffled, each lookup starts cold, as abuse reports do.
const hits = Math.min(sample.count, LOOKUPS);
const inOrder = Array.from({ length: hits }, (_, i) => i);
const shuffled = [...inOrder];
for (let i = hits - 1; i > 0; i--) {
  const j = int(i + 1);
  [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
}
function queries(order: number[]): { address: string[]; at: number[]; port: (number | undefined)[]; session: string[] } {
  const q = { address: [] as string[], at: [] as number[], port: [] as (number | undefined)[], session: [] as string[] };
  for (const i of order) {
    q.address.push(dotted(sample.address[i]!));
    q.at.push(sample.at[i]!);
    q.port.push(sample.port[i]! < 0 ? undefined : sample.port[i]);
    q.session.push(sessionOf(sample.binding[i]!));
  }
  return q;
}
const near = queries(inOrder);
const cold = queries(shuffled);
console.log(`lookups: best of ${ROUNDS} rounds of ${LOOKUPS.toLocaleString('en')}, addresses given as text; ${availableParallelism()} cores, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
time('resolve, hits in load order', (i) => index.resolve(near.address[i % hits]!, near.at[i % hits]!, near.port[i % hits])?.sessionId === near.session[i % hits]);
time('resolve, hits shuffled', (i) => index.resolve(cold.address[i % hits]!, cold.at[i % hits]!, cold.port[i % hits])?.sessionId === cold.session[i % hits]);

function misses(label: string, make: () => [string, number, number | undefined]): void {
  const address: string[] = [];
  const at: number[] = [];
  const port: (number | undefined)[] = [];
  for (let i = 0; i < LOOKUPS; i++) {
    const [a, t, p] = make();
    address.push(a);
    at.push(t);
    port.push(p);
  }
  time(label, (i) => index.resolve(address[i]!, at[i]!, port[i]) !== undefined);
}
misses('resolve, misses: address never bound', () => [dotted(SUBSCRIBER_BASE + (1 << 21) + int(1 << 21)), T0 + int(365 * DAY), undefined]);
misses('resolve, misses: before its history', () => {
  const s = int(sample.count);
  return [dotted(sample.address[s]!), T0 - 1 - int(DAY), sample.port[s]! < 0 ? undefined : sample.port[s]];
});
misses('resolve, misses: CGNAT address, no port', () => {
  for (;;) {
    const s = int(sample.count);
    if (sample.port[s]! >= 0) return [dotted(sample.address[s]!), sample.at[s]!, undefined];
  }
});

time('isPortBlocked, shuffled', (i) => index.isPortBlocked(cold.address[i % hits]!, cold.at[i % hits]!));
time('openAt, shuffled', (i) => index.openAt(cold.address[i % hits]!, cold.port[i % hits]) !== undefined);

// IPv6 takes the slower path (parsing eight groups, a four-word key): measured apart, on
// its own index of 100,000 bindings in 2001:db8::/32, asked in the long form so that
// every lookup normalises.
const v6 = new BindingIndex();
const v6Queries: string[] = [];
for (let n = 0; n < 100_000; n++) {
  const host = `2001:db8:${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}::${(1 + int(0xfffe)).toString(16)}`;
  v6.add({ id: id('bnd', BINDINGS + n), sessionId: sessionOf(BINDINGS + n), address: host, start: T0, end: null });
  v6Queries.push(host.replace('::', ':0:0:0:'));
}
time('resolve, IPv6 hits (long form)', (i) => v6.resolve(v6Queries[i % v6Queries.length]!, T0 + i) !== undefined);

// IPv6 prefixes at 1,000,000 bindings: 500,000 subscribers, each holding the link's /64
// (Framed-IPv6-Prefix) from 2001:db8:8000::/33 and a delegated /56 from 2001:db8::/33, in
// their own index. Queries are full addresses inside a prefix: a longest-prefix match
// tries the address, then /64, then /56.
const prefixes = new BindingIndex({ capacity: 1_000_000 });
const hex = (v: number): string => v.toString(16);
const inLink: string[] = [];
const inHome: string[] = [];
for (let n = 0; n < 500_000; n++) {
  // The n-th /56 of 2001:db8::/33 and the n-th /64 of 2001:db8:8000::/33.
  const home = `2001:db8:${hex(n >>> 8)}:${hex((n & 0xff) << 8)}::`;
  const link = `2001:db8:${hex(0x8000 + (n >>> 16))}:${hex(n & 0xffff)}::`;
  const session = sessionOf(2 * BINDINGS + n);
  prefixes.add({ id: id('bnd', 2 * BINDINGS + 2 * n), sessionId: session, address: home, prefixLength: 56, start: T0, end: null });
  prefixes.add({ id: id('bnd', 2 * BINDINGS + 2 * n + 1), sessionId: session, address: link, prefixLength: 64, start: T0, end: null });
  if (inHome.length < LOOKUPS && random() < 0.6) {
    inHome.push(`2001:db8:${hex(n >>> 8)}:${hex(((n & 0xff) << 8) | int(256))}:${hex(int(0x10000))}:${hex(int(0x10000))}:${hex(int(0x10000))}:${hex(1 + int(0xfffe))}`);
    inLink.push(`${link.slice(0, -1)}${hex(int(0x10000))}:${hex(int(0x10000))}:${hex(int(0x10000))}:${hex(1 + int(0xfffe))}`);
  }
}
console.log(`loaded                                       ${prefixes.size.toLocaleString('en')} IPv6 prefix bindings (/64 and /56)`);
time('resolve, IPv6 inside a /64 (1M prefixes)', (i) => prefixes.resolve(inLink[i % inLink.length]!, T0 + i) !== undefined);
time('resolve, IPv6 inside a /56 (1M prefixes)', (i) => prefixes.resolve(inHome[i % inHome.length]!, T0 + i) !== undefined);
time('resolve, IPv6 misses (1M prefixes)', (i) => prefixes.resolve(`2001:db9::${hex(1 + (i & 0xfffe))}`, T0 + i) !== undefined);
