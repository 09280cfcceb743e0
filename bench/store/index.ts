// Store write throughput on both databases: single-row commits (what an operator
// command or a RADIUS accounting record costs) and batched commits.
//   node -C sideband-source --import tsx bench/store/index.ts
import { availableParallelism, loadavg } from 'node:os';
import { appendAudit } from '../../src/store/audit-log.ts';
import { testContext } from '../../test/support/contexts.ts';
import { answerHelp } from '../usage.ts';

answerHelp(import.meta.url);

console.log(`machine ${availableParallelism()} cores, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

for (const dialect of ['sqlite', 'postgres'] as const) {
  const t = await testContext(dialect, `bench-store-${dialect}`);
  try {
    const db = t.ctx.store.db;
    let n = 2000;
    let t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await appendAudit(db, { actor: 'bench', action: 'bench.write', subjectType: 'bench', subjectId: String(i) });
    let s = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(`${dialect.padEnd(9)} one row per commit       ${Math.round(n / s).toLocaleString('en').padStart(9)} rows/s`);
    n = 50_000;
    t0 = process.hrtime.bigint();
    for (let b = 0; b < n / 500; b++) {
      await db.transaction().execute(async (tx) => {
        for (let i = 0; i < 500; i++) await appendAudit(tx, { actor: 'bench', action: 'bench.batch', subjectType: 'bench', subjectId: String(i) });
      });
    }
    s = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(`${dialect.padEnd(9)} 500 rows per commit      ${Math.round(n / s).toLocaleString('en').padStart(9)} rows/s`);
  } finally {
    await t.dispose();
  }
}
