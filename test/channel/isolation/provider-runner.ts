// Runs in the provider's namespace: the whole gateway, every listener on the data network
// address, the secure channel's SIP and media on the telephone one, the exchange elsewhere.
// Env: ISOLATION_DATA_ADDRESS, ISOLATION_TELEPHONE_ADDRESS, ISOLATION_EXCHANGE_HOST,
// ISOLATION_EXCHANGE_PORT, ISOLATION_PROVIDER_LINE (JSON), ISOLATION_CARD_INDEX.
import { setTimeout as sleep } from 'node:timers/promises';
import { merchantSetup, shopper } from '../../support/merchant-harness.ts';
import { futureExpiry, testCardNumber } from '../../support/test-cards.ts';
import { runMain, serveCommands } from './runner-commands.ts';

runMain(async () => {
  const env = process.env;
  const line = JSON.parse(env.ISOLATION_PROVIDER_LINE!) as { password: string; lineNumber: string; numbers: string[] };
  const m = await merchantSetup('sqlite', 'isolation-provider', {
    config: {
      listen: { host: env.ISOLATION_DATA_ADDRESS! },
      channel: {
        lineNumber: line.lineNumber,
        numbers: line.numbers,
        mediaAddress: env.ISOLATION_TELEPHONE_ADDRESS!,
        reservationSeconds: 10,
        exchange: { builtIn: false, host: env.ISOLATION_EXCHANGE_HOST!, port: Number(env.ISOLATION_EXCHANGE_PORT), password: line.password },
      },
    },
  });
  const { address } = await shopper(m, 'isolation-buyer', { card: { number: testCardNumber(Number(env.ISOLATION_CARD_INDEX)), expiry: futureExpiry() }, releaseToMerchant: true });
  const operator = async (path: string) => {
    const res = await fetch(`http://${m.t.gateway.listen.operatorHttp}/v1${path}`, { headers: { authorization: `Bearer ${m.t.token}` } });
    return (await res.json()) as Record<string, unknown>;
  };
  serveCommands(
    {
      listen: m.t.gateway.listen,
      merchantId: m.merchantId,
      keyId: m.keyId,
      privateKeyPem: m.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      customerAddress: address,
    },
    {
      /** What `sideband merchant set-channel` does: where the merchant's endpoint negotiates, its line and certificate. */
      setChannel: async ({ url, lineNumber, fingerprint }) => {
        const view = await m.t.gateway.context.merchants.setChannel(m.merchantId, { url: String(url), lineNumber: String(lineNumber), fingerprint: String(fingerprint) });
        return { id: view.id };
      },
      /** The exchange as the operator sees it once it has ended. */
      settledExchange: async ({ id }) => {
        for (let i = 0; i < 100; i++) {
          const view = await operator(`/channel/exchanges/${String(id)}`);
          if (view.status === 'completed' || view.status === 'failed') return view;
          await sleep(50);
        }
        throw new Error(`exchange ${String(id)} did not end`);
      },
      /** Why the vault opened records (each opening is audited with its purpose). */
      cardOpenings: async () => {
        const rows = await m.t.gateway.context.store.db.selectFrom('audit_log').select('detail').where('action', '=', 'vault.decrypt').execute();
        return rows.map((r) => String((JSON.parse(r.detail ?? '{}') as { purpose?: string }).purpose ?? r.detail));
      },
    },
    () => m.dispose(),
  );
});
