import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DataDirectoryLock, LOCK_FILE } from '../../src/gateway/data-directory-lock.ts';
import { SidebandError } from '../../src/errors/sideband-error.ts';
import { throwawayDatabase, type ThrowawayDatabase } from '../support/databases.ts';
import { runCli } from '../support/run-cli.ts';
import { ephemeralPorts, spawnGateway, type SpawnedGateway } from '../support/spawn-gateway.ts';

/** Name, size and modification time of every file the gateway itself keeps (not SQLite's, which the running one writes). */
function snapshot(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => !f.startsWith('sideband.sqlite'))
    .sort()
    .map((f) => {
      const s = statSync(join(dir, f));
      return `${f} ${s.size} ${s.mtimeMs}`;
    });
}

const lockOf = (dir: string) => JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as { pid: number; host: string; startedAt: string };

describe('the data directory lock', () => {
  let db: ThrowawayDatabase;
  let first: SpawnedGateway;

  before(async () => {
    db = await throwawayDatabase('sqlite');
    first = await spawnGateway(['--data-dir', db.dataDir], ephemeralPorts);
  });
  after(async () => {
    await first.stop();
    await db.drop();
  });

  it('is held by a running gateway, naming its pid, host and start time', () => {
    const lock = lockOf(db.dataDir);
    assert.equal(lock.pid, first.child.pid);
    assert.equal(lock.host, hostname());
    assert.ok(Date.parse(lock.startedAt) <= Date.now());
  });

  it('makes a second gateway on the directory refuse at once, naming the first, and touch nothing there', async () => {
    const before = snapshot(db.dataDir);
    const demo = readFileSync(join(db.dataDir, 'demo.json'), 'utf8');
    await assert.rejects(spawnGateway(['--data-dir', db.dataDir], ephemeralPorts), (e: Error) => {
      assert.match(e.message, /exited with 67/, 'DATA_DIR_LOCKED is a conflict: exit code 67');
      assert.match(e.message, /error DATA_DIR_LOCKED: Another gateway holds the data directory/);
      assert.ok(e.message.includes(`pid ${first.child.pid} on ${hostname()}`), 'names the other process');
      return true;
    });
    assert.deepEqual(snapshot(db.dataDir), before, 'no file of the directory was written, created or removed');
    assert.equal(readFileSync(join(db.dataDir, 'demo.json'), 'utf8'), demo);
    assert.equal(lockOf(db.dataDir).pid, first.child.pid, 'the lock is still the first gateway\'s');
  });

  it('leaves commands that write the store free to run beside the gateway', async () => {
    const r = await runCli(['--data-dir', db.dataDir, 'subscriber', 'add', 'zoe', '--password', 'zoes-password']);
    assert.equal(r.code, 0, r.stderr);
  });

  it('is taken over from a gateway that died, and released by a clean stop', async () => {
    const dead = first.child.pid;
    await first.stop('SIGKILL');
    assert.equal(lockOf(db.dataDir).pid, dead, 'a killed gateway leaves its lock behind');
    first = await spawnGateway(['--data-dir', db.dataDir], ephemeralPorts);
    assert.equal(lockOf(db.dataDir).pid, first.child.pid);
    assert.equal(await first.stop('SIGTERM'), 0);
    assert.equal(existsSync(join(db.dataDir, LOCK_FILE)), false);
  });

  it('refuses a second holder in one process, and a lock held on another host', () => {
    const lock = DataDirectoryLock.acquire(db.dataDir);
    try {
      assert.throws(() => DataDirectoryLock.acquire(db.dataDir), (e: SidebandError) => e.code === 'DATA_DIR_LOCKED' && e.message.includes(`pid ${process.pid}`));
    } finally {
      lock.release();
    }
    writeFileSync(join(db.dataDir, LOCK_FILE), JSON.stringify({ pid: 1, host: 'gw-elsewhere.example', startedAt: new Date().toISOString(), command: 'sideband start' }));
    assert.throws(() => DataDirectoryLock.acquire(db.dataDir), (e: SidebandError) => e.code === 'DATA_DIR_LOCKED' && /gw-elsewhere\.example[\s\S]*cannot tell whether it is alive/.test(e.message));
  });

  it('takes over a lock whose pid now belongs to a process started after it (a reused pid)', () => {
    // This process started before now: a lock "taken" a minute before it started cannot be its.
    const startedLongAgo = new Date(Date.now() - process.uptime() * 1000 - 60_000).toISOString();
    writeFileSync(join(db.dataDir, LOCK_FILE), JSON.stringify({ pid: process.pid, host: hostname(), startedAt: startedLongAgo, command: 'sideband start' }));
    const lock = DataDirectoryLock.acquire(db.dataDir);
    assert.equal(lockOf(db.dataDir).startedAt, lock.holder.startedAt);
    lock.release();
  });
});
