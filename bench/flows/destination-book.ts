// The destination book alone, as the collector drives it: the bench's distinct outbound
// records (1,000 sessions, 508 destinations skewed towards a few, a pool of 37,500), drawn
// at random RECORDS times, with a timer's drain (10 s refresh) every 300,000 records,
// about once a second at the collector's target rate. No sockets, no decoder.
//   node -C sideband-source --import tsx bench/flows/destination-book.ts [RECORDS] [PASSES]
// Prints the median of PASSES passes over a fresh book, in µs a record (drains included).
import { DestinationBook } from '../../src/tracking/service/destination-book.ts';
import { generator } from './flow-replay.ts';
import { answerHelp } from '../usage.ts';

answerHelp(import.meta.url);

const RECORDS = Number(process.argv[2] ?? 1_440_000);
const PASSES = Number(process.argv[3] ?? 5);
const SESSIONS = 1000;
const POOL = 37_500;
const DRAIN_EVERY = 300_000;
const REFRESH_MS = 10_000;

const random = generator(0xb00c);
const destinations = [0xc6336400, 0xcb007100].flatMap((net) => Array.from({ length: 254 }, (_, i) => net + i + 1));
// Session ids as the session service makes them; one string each, as SourceHolders hands them out.
const sessionIds = Array.from({ length: SESSIONS }, (_, i) => `ses_${(1_700_000_000_000 + i).toString(36)}_${i.toString(36).padStart(8, '0')}`);
const now = Date.now();
const poolSession = new Int32Array(POOL);
const poolDestination = new Float64Array(POOL);
const poolAt = new Float64Array(POOL);
for (let i = 0; i < POOL; i++) {
  poolSession[i] = Math.floor(random() * SESSIONS);
  poolDestination[i] = destinations[Math.floor(destinations.length * random() ** 3)]!;
  poolAt[i] = now - Math.floor(random() * 60_000);
}
const picks = Int32Array.from({ length: RECORDS }, () => Math.floor(random() * POOL));

function pass(): number {
  const book = new DestinationBook({ perSession: 64, maxAgeMs: 24 * 3_600_000, sessionsPerExporter: 500_000 });
  const exporter = '127.0.0.1';
  let drained = 0;
  // The book's number for each session, handed back as the collector does (SourceHolders' note).
  const hints = new Int32Array(SESSIONS).fill(-1);
  const began = process.hrtime.bigint();
  for (let r = 0; r < RECORDS; r++) {
    const p = picks[r]!;
    const at = poolAt[p]! + r / 1000;
    const s = poolSession[p]!;
    hints[s] = book.recordV4(exporter, sessionIds[s]!, poolDestination[p]!, at, 1, hints[s]);
    if (r % DRAIN_EVERY === DRAIN_EVERY - 1) drained += book.drain(REFRESH_MS).length;
  }
  drained += book.drain(0).length;
  const micros = Number(process.hrtime.bigint() - began) / 1000 / RECORDS;
  if (drained === 0) throw new Error('nothing drained');
  return micros;
}

const runs = Array.from({ length: PASSES }, pass).sort((a, b) => a - b);
const size = (() => {
  const book = new DestinationBook({ perSession: 64, maxAgeMs: 24 * 3_600_000, sessionsPerExporter: 500_000 });
  for (let p = 0; p < POOL; p++) book.recordV4('127.0.0.1', sessionIds[poolSession[p]!]!, poolDestination[p]!, poolAt[p]!);
  return book.size;
})();
console.log(`destination book: ${RECORDS.toLocaleString('en')} records over ${size.destinations.toLocaleString('en')} (session, destination) pairs, ${DRAIN_EVERY.toLocaleString('en')} between drains`);
console.log(`recordV4: median ${runs[PASSES >> 1]!.toFixed(3)} µs a record (passes: ${runs.map((r) => r.toFixed(3)).join(', ')})`);
