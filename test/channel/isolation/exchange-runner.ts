// Runs in the exchange's namespace: Sideband's exchange alone, on the telephone network.
// Env: ISOLATION_EXCHANGE_HOST, ISOLATION_EXCHANGE_PORT, ISOLATION_LINES (JSON).
import { setTimeout as sleep } from 'node:timers/promises';
import { Exchange } from '../../../src/channel/exchange/exchange.ts';
import { InMemoryCallDetailRecordSink } from '../../../src/channel/exchange/in-memory-call-detail-record-sink.ts';
import { createTestLogger } from '../../../src/observability/logger.ts';
import { runMain, serveCommands } from './runner-commands.ts';

runMain(async () => {
  const cdrSink = new InMemoryCallDetailRecordSink();
  const exchange = new Exchange({ logger: createTestLogger('isolation-exchange'), cdrSink });
  const port = Number(process.env.ISOLATION_EXCHANGE_PORT);
  const at = await exchange.start({ host: process.env.ISOLATION_EXCHANGE_HOST!, udpPort: port, tcpPort: port, lines: JSON.parse(process.env.ISOLATION_LINES!) });
  serveCommands(at, {
    /** The bindings, so the test knows both ends registered before it buys. */
    registrations: async () => exchange.registrations().map((r) => ({ number: r.number, contact: r.contact, username: r.username })),
    /** The record of the first answered call from `caller`, once it has ended. */
    answeredCall: async ({ caller, timeoutMs }) => Promise.race([
      cdrSink.next((r) => r.callerNumber === caller && r.answeredAt !== null),
      sleep(Number(timeoutMs ?? 5000)).then(() => Promise.reject(new Error(`no answered call from ${String(caller)}`))),
    ]),
  }, () => exchange.stop());
});
