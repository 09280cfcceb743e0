// The resolution phase of the RADIUS bench, in a process of its own so that its resident
// memory is the index's and not the driver's: loads BINDINGS bindings into a BindingIndex
// and times lookups, then prints one JSON line. Addresses are from 100.64.0.0/10 (RFC 6598)
// and exist only in memory.
//   node --expose-gc --import tsx bench/radius/resolution-phase.ts [BINDINGS] [SECONDS]
import { BindingIndex } from '../../src/core/resolution/binding-index.ts';
import { dotted, id, int, random } from '../resolution/binding-data.ts';

export interface ResolutionFigures {
  bindings: number;
  openBindings: number;
  addresses: number;
  loadSeconds: number;
  rssBefore: number;
  rssAfter: number;
  /** JS heap and array buffers after the load. */
  heapAfter: number;
  hits: { lookups: number; seconds: number; right: number };
  misses: { lookups: number; seconds: number; answered: number };
}

const BINDINGS = Number(process.argv[2] ?? 1_000_000);
const SECONDS = Number(process.argv[3] ?? 2);
const DAY = 86_400_000;
const T0 = Date.UTC(2025, 0, 1);
const WHOLE_BASE = ((100 << 24) | (64 << 16)) >>> 0; // 100.64.0.0: one subscriber per address
const SHARED_BASE = ((100 << 24) | (120 << 16)) >>> 0; // 100.120.0.0: CGNAT, 31 blocks of 2048 ports
const SHARED_FRACTION = 0.2;
const PORT_BLOCK = 2048;

const gc = (globalThis as { gc?: () => void }).gc ?? ((): void => undefined);



// Some bindings are kept as lookups that must hit, in typed arrays so that they barely
// weigh on the memory figures.
const SAMPLES = 200_000;
const sample = { address: new Uint32Array(SAMPLES), port: new Int32Array(SAMPLES), at: new Float64Array(SAMPLES), n: new Int32Array(SAMPLES), count: 0 };
for (const column of [sample.address, sample.port, sample.at, sample.n]) column.fill(0);

/** Back-to-back sessions on one address (or port block) over a month; the last still open on about half. */
function history(index: BindingIndex, address: number, portFirst: number, count: number, next: { n: number; open: number }): void {
  const text = dotted(address);
  let t = T0 + int(DAY);
  const stillOpen = random() < 0.5;
  for (let k = 0; k < count; k++) {
    const length = DAY / 4 + int(5 * DAY);
    const end = k === count - 1 && stillOpen ? null : t + length;
    const n = next.n++;
    if (end === null) next.open++;
    const ports = portFirst < 0 ? {} : { portFirst, portLast: portFirst + PORT_BLOCK - 1 };
    index.add({ id: id('bnd', n), sessionId: id('ses', n), address: text, ...ports, start: t, end });
    if (sample.count < SAMPLES && random() < 0.25) {
      const i = sample.count++;
      sample.address[i] = address;
      sample.port[i] = portFirst < 0 ? -1 : portFirst + int(PORT_BLOCK);
      sample.at[i] = t + int(end === null ? DAY : length);
      sample.n[i] = n;
    }
    t += length + int(DAY / 4);
  }
}

function load(index: BindingIndex): { open: number; addresses: number } {
  const next = { n: 0, open: 0 };
  let addresses = 0;
  const shared = Math.round(BINDINGS * SHARED_FRACTION);
  for (let a = 0; next.n < shared; a++, addresses++) {
    for (let b = 1; b <= 31 && next.n < shared; b++) history(index, SHARED_BASE + a, b * PORT_BLOCK, Math.min(1 + int(3), shared - next.n), next);
  }
  for (let a = 0; next.n < BINDINGS; a++, addresses++) history(index, WHOLE_BASE + a, -1, Math.min(1 + int(4), BINDINGS - next.n), next);
  return { open: next.open, addresses };
}

/** Runs `lookup` over the prepared questions for about SECONDS; returns how many it asked. */
function timed(questions: number, lookup: (i: number) => boolean): { lookups: number; seconds: number; count: number } {
  let lookups = 0;
  let count = 0;
  const began = process.hrtime.bigint();
  let seconds = 0;
  while (seconds < SECONDS) {
    for (let i = 0; i < questions; i++) if (lookup(i)) count++;
    lookups += questions;
    seconds = Number(process.hrtime.bigint() - began) / 1e9;
  }
  return { lookups, seconds, count };
}

function rss(): number {
  gc();
  return process.memoryUsage().rss;
}

const rssBefore = rss();
const index = new BindingIndex();
const began = process.hrtime.bigint();
const { open, addresses } = load(index);
const loadSeconds = Number(process.hrtime.bigint() - began) / 1e9;
const rssAfter = rss();
const heapAfter = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;

// Questions arrive as text, so that parsing the address is part of each lookup.
const QUESTIONS = 100_000;
const hitAddress: string[] = [];
const hitPort: (number | undefined)[] = [];
const hitAt: number[] = [];
const hitSession: string[] = [];
for (let q = 0; q < QUESTIONS; q++) {
  const i = int(sample.count);
  hitAddress.push(dotted(sample.address[i]!));
  hitPort.push(sample.port[i]! < 0 ? undefined : sample.port[i]);
  hitAt.push(sample.at[i]!);
  hitSession.push(id('ses', sample.n[i]!));
}
const hits = timed(QUESTIONS, (q) => index.resolve(hitAddress[q]!, hitAt[q]!, hitPort[q])?.sessionId === hitSession[q]);

// Never-bound addresses, beyond both ranges loaded.
const missAddress = Array.from({ length: QUESTIONS }, () => dotted(WHOLE_BASE + (1 << 21) + int(1 << 20)));
const missAt = Array.from({ length: QUESTIONS }, () => T0 + int(30 * DAY));
const misses = timed(QUESTIONS, (q) => index.resolve(missAddress[q]!, missAt[q]!) !== undefined);

const figures: ResolutionFigures = {
  bindings: index.size,
  openBindings: open,
  addresses,
  loadSeconds,
  rssBefore,
  rssAfter,
  heapAfter,
  hits: { lookups: hits.lookups, seconds: hits.seconds, right: hits.count },
  misses: { lookups: misses.lookups, seconds: misses.seconds, answered: misses.count },
};
process.stdout.write(JSON.stringify(figures) + '\n');
