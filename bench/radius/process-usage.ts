import { readdirSync, readFileSync } from 'node:fs';

// Linux's USER_HZ, which /proc reports CPU times in; 100 on every architecture Node runs on.
const TICKS_PER_SECOND = 100;

/**
 * CPU (user + system, every thread) a live process has used, from /proc/PID/stat; with
 * `reapedChildren`, also what its children used that exited and were waited for.
 */
export function cpuSeconds(pid: number, reapedChildren = false): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name, in parentheses, may hold spaces: count fields after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const own = Number(fields[11]) + Number(fields[12]); // utime, stime: fields 14 and 15
  return (reapedChildren ? own + Number(fields[13]) + Number(fields[14]) : own) / TICKS_PER_SECOND; // cutime, cstime: 16 and 17
}

/** Resident memory of a live process, from /proc/PID/status. */
export function residentBytes(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return kb === undefined ? 0 : Number(kb) * 1024;
}

/** CPU the whole machine was busy (every core, every process), from /proc/stat. */
export function machineBusySeconds(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = cpu;
  return (user + nice + system + irq + softirq + steal) / TICKS_PER_SECOND;
}

/**
 * CPU used so far by every live process named `command` (e.g. PostgreSQL's backends), and
 * by those of their children that exited: a backend or autovacuum worker that ends during a
 * run moves its CPU into the postmaster's count of its reaped children instead of out of
 * the sum (which then went down, and a run's database CPU came out negative).
 */
export function commandCpuSeconds(command: string): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === command) total += cpuSeconds(Number(entry), true);
    } catch {
      // Exited while we looked.
    }
  }
  return total;
}
