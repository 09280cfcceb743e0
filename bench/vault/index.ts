// Vault throughput: envelope seal/open of a card record, in process (no store), and the
// same through the Vault with its audited open on SQLite and PostgreSQL.
//   node -C sideband-source --import tsx bench/vault/index.ts
import { availableParallelism, loadavg } from 'node:os';
import { randomBytes } from 'node:crypto';
import { openRecord, sealRecord } from '../../src/vault/envelope.ts';
import { testContext } from '../../test/support/contexts.ts';
import { testCardNumber } from '../../test/support/test-cards.ts';
import { answerHelp } from '../usage.ts';

answerHelp(import.meta.url);

console.log(`machine ${availableParallelism()} cores, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

const master = { id: 'mk-bench', key: randomBytes(32) };
const record = Buffer.from(JSON.stringify({ number: testCardNumber(0), expiry: '12/30', holderName: 'Bench', creditLimit: 100000, creditRating: 'A', licenceNumber: 'X' }));

function rate(label: string, n: number, fn: (i: number) => void): void {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`${label.padEnd(44)} ${Math.round(n / s).toLocaleString('en').padStart(10)} /s  (${n} in ${s.toFixed(2)} s)`);
}

const sealed = Array.from({ length: 1000 }, (_, i) => sealRecord(`vr_${i}`, record, master));
rate('envelope seal (fresh data key + wrap)', 50_000, (i) => sealRecord(`vr_${i}`, record, master));
rate('envelope open (unwrap + decrypt)', 50_000, (i) => openRecord(`vr_${i % 1000}`, sealed[i % 1000]!, master.key));

for (const dialect of ['sqlite', 'postgres'] as const) {
  const t = await testContext(dialect, `bench-vault-${dialect}`);
  try {
    const ids: string[] = [];
    const n = 2000;
    let t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) ids.push(await t.ctx.vault.seal(t.ctx.store.db, 'card', { i }));
    let s = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(`${`vault.seal + insert, ${dialect}`.padEnd(44)} ${Math.round(n / s).toLocaleString('en').padStart(10)} /s  (one commit each)`);
    t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await t.ctx.vault.open(ids[i]!, 'operator-verify', 'bench');
    s = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(`${`vault.open with audit entry, ${dialect}`.padEnd(44)} ${Math.round(n / s).toLocaleString('en').padStart(10)} /s`);
  } finally {
    await t.dispose();
  }
}
