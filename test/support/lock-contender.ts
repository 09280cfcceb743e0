// A process that contends for a data directory's lock, one file operation at a time, for
// test/gateway/data-directory-lock.test.ts. Every link, rename or unlink of a file named
// gateway.lock* waits for the test's leave, so the test chooses how the contenders
// interleave. Commands, one a line on standard input:
//   go DIR CTL  try to take DIR's lock; before each such operation print `at N OP FILE…`
//               and wait for the file CTL/PID.N; at the end print `won` or `refused CODE`
//   forget      drop the lock taken, if any, without releasing it (as a process that died would)
// It prints `ready` once it listens.
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { DataDirectoryLock } from '../../src/gateway/data-directory-lock.ts';

let control: string | null = null;
let step = 0;
const idle = new Int32Array(new SharedArrayBuffer(4));

function gated<A extends unknown[], R>(name: string, original: (...args: A) => R): (...args: A) => R {
  return (...args: A) => {
    const files = args.filter((a): a is string => typeof a === 'string').map((a) => basename(a));
    if (control !== null && files.some((f) => f.startsWith('gateway.lock'))) {
      const n = ++step;
      fs.writeSync(1, `at ${n} ${name} ${files.join(' ')}\n`);
      const leave = join(control, `${process.pid}.${n}`);
      while (!fs.existsSync(leave)) Atomics.wait(idle, 0, 0, 1);
    }
    return original(...args);
  };
}
// The lock's module imports these by name; syncBuiltinESMExports makes those bindings follow.
fs.linkSync = gated('link', fs.linkSync);
fs.renameSync = gated('rename', fs.renameSync);
fs.unlinkSync = gated('unlink', fs.unlinkSync);
syncBuiltinESMExports();

let held: DataDirectoryLock | null = null;
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const [command, dir, ctl] = line.split(' ');
  if (command === 'go') {
    control = ctl!;
    let answer: string;
    try {
      held = DataDirectoryLock.acquire(dir!);
      answer = 'won';
    } catch (e) {
      answer = `refused ${(e as { code?: string }).code ?? (e as Error).message}`;
    }
    control = null;
    fs.writeSync(1, `${answer}\n`);
  } else if (command === 'forget') {
    held = null;
    fs.writeSync(1, 'forgot\n');
  }
});
lines.on('close', () => held?.release());
fs.writeSync(1, 'ready\n');
