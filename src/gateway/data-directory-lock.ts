import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import { SidebandError } from '../errors/sideband-error.ts';

/** What the lock file says about the gateway that holds it. */
export interface LockHolder {
  pid: number;
  host: string;
  /** ISO 8601: when that gateway took the lock. */
  startedAt: string;
  command: string;
}

export const LOCK_FILE = 'gateway.lock';

/** Linux's USER_HZ: /proc/PID/stat counts in it on every architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/** When the process with this pid started, from /proc; null where /proc is not available. */
function processStartMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) is in parentheses and may hold spaces; field 22 (starttime) counts from the closing one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const startTicks = Number(fields[19]);
    const bootSeconds = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    if (!Number.isFinite(startTicks) || !Number.isFinite(bootSeconds)) return null;
    return bootSeconds * 1000 + (startTicks / CLOCK_TICKS_PER_SECOND) * 1000;
  } catch {
    return null;
  }
}

/**
 * Is the holder still running? Only a holder on this host can be checked. A live pid is
 * not enough: after a reboot or in a restarted container the pid may belong to another
 * process (often this very one, as pid 1), so a process that started after the lock was
 * taken cannot be its holder.
 */
function holderAlive(holder: LockHolder): boolean {
  if (holder.host !== hostname()) return true;
  try {
    process.kill(holder.pid, 0);
  } catch (e) {
    // EPERM: the pid exists but belongs to another user.
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const started = processStartMs(holder.pid);
  const lockedAt = Date.parse(holder.startedAt);
  // The process start time from /proc is precise to 10 ms and the boot time to a second.
  return started === null || Number.isNaN(lockedAt) || started <= lockedAt + 2000;
}

function readHolder(path: string): LockHolder | null {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockHolder>;
    if (typeof parsed.pid !== 'number' || typeof parsed.host !== 'string' || typeof parsed.startedAt !== 'string') return null;
    return { pid: parsed.pid, host: parsed.host, startedAt: parsed.startedAt, command: typeof parsed.command === 'string' ? parsed.command : 'sideband start' };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw e;
    return null;
  }
}

const sameHolder = (a: LockHolder | null, b: LockHolder | null): boolean => a !== null && b !== null && a.pid === b.pid && a.host === b.host && a.startedAt === b.startedAt;

/** Waits synchronously: acquire() runs before the gateway has anything else to do. */
const pause = (ms: number): void => void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** The claim whose creation gives the right to remove the file at `target` while it names `stale`. */
const claimPath = (lockPath: string, target: string, stale: LockHolder): string =>
  `${lockPath}.takeover.${createHash('sha256').update(`${basename(target)}\n${stale.host}\n${stale.pid}\n${stale.startedAt}`).digest('hex').slice(0, 16)}`;

/** How deep a chain of claims left by dead claimants is followed before giving up. */
const MAX_CLAIM_DEPTH = 4;

/**
 * Removes `target` if it still names `stale`, a holder known to be dead. Checking what a
 * file names and then removing it is two steps; between them another contender could
 * remove the stale file and a third take the lock, and the removal would then delete a
 * live lock. So only the creator of the claim file for (`target`, `stale`) may remove it:
 * creation by link(2) fails if the claim exists, so one contender at a time holds it, and
 * the stale file cannot change under the holder's check (nobody else may remove it, and a
 * file created after its removal names another holder). A claim left by a contender that
 * died is stale in turn and removed the same way, one level down.
 *
 * Returns `busy` when a live contender holds the claim (wait for it), else `done`.
 */
function removeStale(lockPath: string, target: string, stale: LockHolder, draft: string, depth: number): 'done' | 'busy' {
  const claim = claimPath(lockPath, target, stale);
  try {
    linkSync(draft, claim);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    let claimant: LockHolder | null;
    try {
      claimant = readHolder(claim);
    } catch {
      return 'done'; // released meanwhile: look again
    }
    if (claimant === null || holderAlive(claimant)) return 'busy';
    if (depth >= MAX_CLAIM_DEPTH) return 'busy';
    return removeStale(lockPath, claim, claimant, draft, depth + 1) === 'busy' ? 'busy' : 'done';
  }
  try {
    let current: LockHolder | null;
    try {
      current = readHolder(target);
    } catch {
      return 'done'; // already removed by the contender that held the claim before us
    }
    if (sameHolder(current, stale)) unlinkSync(target);
    return 'done';
  } finally {
    unlinkSync(claim);
  }
}

export const describeHolder = (h: LockHolder): string => `pid ${h.pid} on ${h.host}, started ${h.startedAt} (${h.command})`;

/**
 * The data directory's lock, held for the gateway's whole life: an exclusive file naming
 * the process that holds it. It is taken before anything else in the directory is read or
 * written, so that a second gateway refuses without touching the store, the keyring or
 * demo.json. Commands that only write the store (`subscriber add`, `keys rotate`…) do not
 * take it: the databases already serialise their writes, and the gateway is built for
 * other writers beside it.
 *
 * The file appears whole or not at all (written aside, then hard-linked into place, which
 * fails if a lock exists). A lock whose process has died is taken over: removed by the one
 * contender that holds the takeover claim for it (see removeStale), then taken like a free
 * one, by whoever links first. Node has no flock(2) without a native module, hence files.
 */
export class DataDirectoryLock {
  private constructor(
    readonly path: string,
    readonly holder: LockHolder,
  ) {}

  static acquire(dataDir: string, command = 'sideband start'): DataDirectoryLock {
    const path = join(dataDir, LOCK_FILE);
    const me: LockHolder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), command };
    const draft = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
    const fd = openSync(draft, 'wx', 0o644);
    try {
      writeSync(fd, JSON.stringify(me) + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      // Enough rounds to outwait other contenders' takeovers, which take a few milliseconds.
      for (let attempt = 0; attempt < 100; attempt++) {
        try {
          linkSync(draft, path);
          return new DataDirectoryLock(path, me);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        }
        let holder: LockHolder | null;
        try {
          holder = readHolder(path);
        } catch {
          continue; // released between our link and our read: try again
        }
        if (holder === null) {
          throw new SidebandError('DATA_DIR_LOCKED', `The data directory ${dataDir} has a lock file ${path} that cannot be read; if no gateway runs on this directory, delete that file.`, { param: 'dataDir' });
        }
        if (holderAlive(holder)) {
          throw new SidebandError('DATA_DIR_LOCKED', `Another gateway holds the data directory ${dataDir}: ${describeHolder(holder)}. Stop it, or give this gateway its own --data-dir.${holder.host === hostname() ? '' : ` It runs on another host, so this one cannot tell whether it is alive; if it is not, delete ${path}.`}`, { param: 'dataDir' });
        }
        if (removeStale(path, path, holder, draft, 0) === 'busy') pause(10 + Math.random() * 20);
      }
      throw new SidebandError('DATA_DIR_LOCKED', `Could not take the lock ${path}: other processes keep taking and releasing it, or a takeover claim (${path}.takeover.*) is held by a process on another host. If no gateway runs on this directory, delete those files.`, { param: 'dataDir' });
    } finally {
      unlinkSync(draft);
    }
  }

  /** Who holds the lock of this directory now, if anyone (for messages and tests). */
  static holder(dataDir: string): LockHolder | null {
    try {
      return readHolder(join(dataDir, LOCK_FILE));
    } catch {
      return null;
    }
  }

  /** Removes the lock file if it is still ours. */
  release(): void {
    try {
      if (sameHolder(readHolder(this.path), this.holder)) unlinkSync(this.path);
    } catch {
      /* already gone */
    }
  }
}
