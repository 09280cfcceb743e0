// The gateway side of bench/authorizations: one process with a certified merchant and a
// subscriber whose session visited it; prints what the load generator needs as one JSON line.
import { merchantSetup, shopper } from '../../test/support/merchant-harness.ts';

const dialect = (process.argv[2] ?? 'sqlite') as 'sqlite' | 'postgres';
const m = await merchantSetup(dialect, `bench-authorizations-${dialect}`, { settlement: 'provider_bill' });
// Webhooks would be delivered to the harness's receiver in this process too; leave the URL out.
await m.t.gateway.context.store.db.updateTable('merchants').set({ webhook_url: null }).where('id', '=', m.merchantId).execute();
const shoppers = [];
for (let i = 0; i < 50; i++) shoppers.push((await shopper(m, `bench${i}`, { spendingLimit: 1_000_000_000, autoApproveLimit: 1_000_000_000 })).address);
process.stdout.write(JSON.stringify({
  baseUrl: `http://${m.t.gateway.listen.merchantHttp}`,
  keyId: m.keyId,
  privateKey: m.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  addresses: shoppers,
}) + '\n');
const stop = async () => {
  await m.dispose();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
