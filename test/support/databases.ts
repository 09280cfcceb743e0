import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/**
 * Both databases every store test runs on. PostgreSQL tests get a throwaway database
 * created for them and dropped afterwards; SIDEBAND_TEST_POSTGRES_URL points at the
 * server (default: the local one with trust auth).
 */
export type TestDialect = 'sqlite' | 'postgres';
export const dialects: TestDialect[] = ['sqlite', 'postgres'];

const adminUrl = (): string => process.env.SIDEBAND_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface ThrowawayDatabase {
  dataDir: string;
  databaseUrl: string | undefined;
  /** Only for PostgreSQL: the database's name, to inspect its tables. */
  name: string | undefined;
  drop(): Promise<void>;
}

export async function throwawayDatabase(dialect: TestDialect): Promise<ThrowawayDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), `sideband-${dialect}-`));
  if (dialect === 'sqlite') {
    return { dataDir, databaseUrl: undefined, name: undefined, drop: async () => rmSync(dataDir, { recursive: true, force: true }) };
  }
  const name = `sideband_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return {
    dataDir,
    databaseUrl: url.toString(),
    name,
    async drop() {
      rmSync(dataDir, { recursive: true, force: true });
      const c = new pg.Client({ connectionString: adminUrl() });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}
