import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
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

/** A loopback port free for both UDP and TCP now (the built-in exchange listens on both). */
async function freePort(): Promise<number> {
  for (;;) {
    const tcp = createServer();
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    const port = (tcp.address() as AddressInfo).port;
    const udp = createSocket('udp4');
    const free = await new Promise<boolean>((r) => {
      udp.once('error', () => r(false));
      udp.bind(port, '127.0.0.1', () => r(true));
    });
    udp.close();
    await new Promise((r) => tcp.close(r));
    if (free) return port;
  }
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

  it('is taken over from a gateway that died, with what it held, and released by a clean stop', async () => {
    // The exchange on a fixed port, as in production: the channel's numbers are claimed per
    // exchange address, and the dead gateway's claims must not keep its successor out.
    const fixed = { ...ephemeralPorts, SIDEBAND_EXCHANGE_PORT: String(await freePort()) };
    await first.stop('SIGTERM');
    first = await spawnGateway(['--data-dir', db.dataDir], fixed);
    const dead = first.child.pid;
    await first.stop('SIGKILL');
    assert.equal(lockOf(db.dataDir).pid, dead, 'a killed gateway leaves its lock behind');
    first = await spawnGateway(['--data-dir', db.dataDir], fixed);
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

/** A child process running test/support/lock-contender.ts, and the lines it prints, one at a time. */
interface Contender {
  child: ChildProcessWithoutNullStreams;
  next(): Promise<string>;
}

function contender(): Contender {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/lock-contender.ts'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const queued: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  createInterface({ input: child.stdout }).on('line', (line) => (waiting.length > 0 ? waiting.shift()!(line) : queued.push(line)));
  child.once('exit', (code) => {
    for (const w of waiting.splice(0)) w(`exited ${code}: ${stderr}`);
  });
  return { child, next: () => (queued.length > 0 ? Promise.resolve(queued.shift()!) : new Promise((resolve) => waiting.push(resolve))) };
}

/** A small seeded generator (mulberry32), so that a failing schedule can be replayed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('the data directory lock under contention', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sideband-lock-race-'));
  const control = mkdtempSync(join(tmpdir(), 'sideband-lock-steps-'));
  const contenders: Contender[] = [];

  before(async () => {
    for (let i = 0; i < 3; i++) contenders.push(contender());
    for (const c of contenders) assert.equal(await c.next(), 'ready');
  });
  after(async () => {
    await Promise.all(contenders.map((c) => new Promise((resolve) => (c.child.exitCode !== null ? resolve(null) : (c.child.once('exit', resolve), c.child.stdin.end())))));
    rmSync(dir, { recursive: true, force: true });
    rmSync(control, { recursive: true, force: true });
  });

  it('gives a dead gateway\'s lock to exactly one of three processes taking it over at once, however their steps interleave', async () => {
    // The pid is this process's, but the lock predates its start: a dead holder (see the reused-pid test).
    const stale = () => JSON.stringify({ pid: process.pid, host: hostname(), startedAt: new Date(Date.now() - process.uptime() * 1000 - 60_000).toISOString(), command: 'sideband start' });
    for (let round = 0; round < 60; round++) {
      const random = seeded(round + 1);
      writeFileSync(join(dir, LOCK_FILE), stale());
      for (const c of contenders) c.child.stdin.write(`go ${dir} ${control}\n`);
      // Each contender stops before every operation on the lock's files; one chosen at random takes its next step.
      const at = new Map<Contender, string>();
      const answers = new Map<Contender, string>();
      const note = (c: Contender, line: string) => (line.startsWith('at ') ? at.set(c, line.split(' ')[1]!) : answers.set(c, line));
      await Promise.all(contenders.map(async (c) => note(c, await c.next())));
      const trace: string[] = [];
      while (at.size > 0) {
        const waiting = [...at.keys()];
        const c = waiting[Math.floor(random() * waiting.length)]!;
        const n = at.get(c)!;
        at.delete(c);
        writeFileSync(join(control, `${c.child.pid}.${n}`), '');
        const line = await c.next();
        trace.push(`${contenders.indexOf(c)}: ${line}`);
        note(c, line);
      }
      const results = contenders.map((c) => answers.get(c)!);
      const winners = contenders.filter((c) => answers.get(c) === 'won');
      assert.equal(winners.length, 1, `round ${round}: ${results.join(', ')}\n${trace.join('\n')}`);
      assert.ok(results.every((a) => a === 'won' || a === 'refused DATA_DIR_LOCKED'), results.join(', '));
      assert.equal(lockOf(dir).pid, winners[0]!.child.pid, `round ${round}: the lock names the winner`);
      assert.deepEqual(readdirSync(dir), [LOCK_FILE], `round ${round}: no draft or takeover claim is left behind`);
      for (const c of contenders) c.child.stdin.write('forget\n');
      for (const c of contenders) assert.equal(await c.next(), 'forgot');
    }
  });
});
