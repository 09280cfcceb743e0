import type { Kysely, Migration, MigrationProvider } from 'kysely';
import { sql } from 'kysely';
import * as foundation from './0001-foundation.ts';
import * as destinationTracking from './0002-destination-tracking.ts';
import * as merchantApi from './0003-merchant-api.ts';
import * as secureChannel from './0004-secure-channel.ts';
import * as secureChannelPreferences from './0005-secure-channel-preferences.ts';
import * as moneyPaths from './0006-money-paths.ts';
import * as accountingHistory from './0007-accounting-history.ts';
import * as masterKeysAndRemovedNas from './0008-master-keys-and-removed-nas.ts';
import * as sessionChanges from './0009-session-changes.ts';
import * as cluster from './0010-cluster.ts';
import * as dynamicAuthorization from './0011-dynamic-authorization.ts';
import * as camara from './0012-camara.ts';
import * as camaraConsentRefundsSinks from './0013-camara-consent-refunds-sinks.ts';
import * as webSessions from './0014-web-sessions.ts';
import * as ipv6Prefixes from './0015-ipv6-prefixes.ts';
import * as radsecAndCoaTriggers from './0016-radsec-and-coa-triggers.ts';
import * as natPortBlocks from './0017-nat-port-blocks.ts';
import * as radsecNameUnique from './0018-radsec-name-unique.ts';
import * as destinationRetention from './0019-destination-retention.ts';
import * as dynamicAuthorizationPoll from './0020-dynamic-authorization-poll.ts';
import * as idempotencyKeyPurge from './0021-idempotency-key-purge.ts';
import * as historyLookups from './0022-history-lookups.ts';
import * as callRecordsNewest from './0023-call-records-newest.ts';
import * as adoptionKey from './0024-adoption-key.ts';
import * as sessionForChange from './0025-session-for-change.ts';
import * as prepaidSubscriberFirst from './0026-prepaid-subscriber-first.ts';

type Dialect = 'sqlite' | 'postgres';
interface DialectMigration {
  up(db: Kysely<unknown>, dialect: Dialect): Promise<void>;
}

/** Versioned migrations, applied in name order; a name, once released, never changes. */
const migrations: Record<string, DialectMigration> = {
  '0001-foundation': foundation,
  '0002-destination-tracking': destinationTracking,
  '0003-merchant-api': merchantApi,
  '0004-secure-channel': secureChannel,
  '0005-secure-channel-preferences': secureChannelPreferences,
  '0006-money-paths': moneyPaths,
  '0007-accounting-history': accountingHistory,
  '0008-master-keys-and-removed-nas': masterKeysAndRemovedNas,
  '0009-session-changes': sessionChanges,
  '0010-cluster': cluster,
  '0011-dynamic-authorization': dynamicAuthorization,
  '0012-camara': camara,
  '0013-camara-consent-refunds-sinks': camaraConsentRefundsSinks,
  '0014-web-sessions': webSessions,
  '0015-ipv6-prefixes': ipv6Prefixes,
  '0016-radsec-and-coa-triggers': radsecAndCoaTriggers,
  '0017-nat-port-blocks': natPortBlocks,
  '0018-radsec-name-unique': radsecNameUnique,
  '0019-destination-retention': destinationRetention,
  '0020-dynamic-authorization-poll': dynamicAuthorizationPoll,
  '0021-idempotency-key-purge': idempotencyKeyPurge,
  '0022-history-lookups': historyLookups,
  '0023-call-records-newest': callRecordsNewest,
  '0024-adoption-key': adoptionKey,
  '0025-session-for-change': sessionForChange,
  '0026-prepaid-subscriber-first': prepaidSubscriberFirst,
};

export class SidebandMigrations implements MigrationProvider {
  constructor(private readonly dialect: Dialect) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    return Object.fromEntries(
      Object.entries(migrations).map(([name, m]) => [
        name,
        {
          up: async (db: Kysely<unknown>) => {
            // In the migrations' one transaction (PostgreSQL): DDL may wait longer for its
            // locks than the 5 s the gateway's sessions allow a statement (open-store.ts), but
            // not for as long as a pg_dump runs: while it waits, every statement on its table
            // queues behind it (migrateStore tries again, then says why).
            if (this.dialect === 'postgres') await sql`set local lock_timeout = '10s'`.execute(db);
            await m.up(db, this.dialect);
          },
        },
      ]),
    );
  }
}

export const latestMigration = Object.keys(migrations).sort().at(-1)!;
