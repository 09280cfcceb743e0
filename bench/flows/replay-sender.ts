import { createSocket } from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';
import { cpuSeconds } from './process-tree-cpu.ts';
import { receiveQueue } from './udp-receive-queue.ts';

/** A collector under test: where it listens and the processes that do its work. */
export interface Receiver {
  readonly port: number;
  readonly pids: readonly number[];
  /**
   * For a collector that writes what it counted later (Sideband's once-a-second flush):
   * resolves once it has taken `datagrams` datagrams, or gone quiet short of them, and
   * written everything. The replay's time then ends there, the final write included,
   * rather than at the receiver's last busy moment.
   */
  readonly settle?: (datagrams: number) => Promise<void>;
}

export interface ReplayLimits {
  /** Epoch ms after which the sender stops sending and waiting. */
  readonly deadline: number;
}

export interface ReplayOutcome {
  readonly sent: number;
  /** From the first datagram sent to the last moment the receiver was busy. */
  readonly seconds: number;
  /** CPU the receiver's processes used over `seconds`. */
  readonly cpuSeconds: number;
  /** Seconds the sender spent waiting for the receiver; near 0, the sender, not the receiver, set the pace. */
  readonly waited: number;
  /** The longest the receiver's queue stayed full, in seconds: how long it went without reading. */
  readonly longestWait: number;
  /** Datagrams the kernel dropped at the receiver's socket for want of room. */
  readonly kernelDrops: number;
  readonly timedOut: boolean;
}

// The receiver's queue is held below this many bytes (truesize, about 2.3 kB per
// 1.1 kB datagram on loopback): deep enough that it never runs dry between two looks,
// a quarter of the 8 MB every collector is given, so that nothing overflows.
const HIGH_WATER = 2 * 1024 * 1024;
const BURST = 32;
// The receiver has finished once its queue is empty and its CPU time has not moved for this long.
const QUIET_MS = 300;
const SAMPLE_MS = 5;

const now = (): number => performance.timeOrigin + performance.now();

/**
 * Sends `datagrams` in order to 127.0.0.1:`port`, as fast as the receiver drains its
 * socket: the sender reads the receiver's queue from /proc/net/udp every BURST datagrams
 * and pauses while it is above HIGH_WATER. The pace is thus the receiver's, the same
 * rule for every collector, and no datagram need be lost to a full buffer.
 */
export async function replayInto(receiver: Receiver, datagrams: readonly Buffer[], limits: ReplayLimits): Promise<ReplayOutcome> {
  const socket = createSocket('udp4');
  let sendError: Error | null = null;
  socket.on('error', (e) => (sendError ??= e));
  await new Promise<void>((resolve) => socket.connect(receiver.port, '127.0.0.1', resolve));
  try {
    const queueNow = () => receiveQueue(receiver.port) ?? { queued: 0, drops: 0 };
    const dropsBefore = queueNow().drops;
    const cpuBefore = cpuSeconds(receiver.pids);
    const began = now();
    let sent = 0;
    let waited = 0;
    let waitingSince: number | null = null;
    let longestWait = 0;
    while (sent < datagrams.length && now() < limits.deadline) {
      if (sendError) throw sendError;
      if (queueNow().queued > HIGH_WATER) {
        waitingSince ??= now();
        await sleep(1);
        continue;
      }
      if (waitingSince !== null) {
        waited += now() - waitingSince;
        longestWait = Math.max(longestWait, now() - waitingSince);
        waitingSince = null;
      }
      for (let k = 0; k < BURST && sent < datagrams.length; k++) socket.send(datagrams[sent++]!);
      await new Promise(setImmediate);
    }
    let lastBusy = now();
    let cpu = cpuSeconds(receiver.pids);
    if (receiver.settle) {
      // A collector that died or hung never answers: the deadline ends the wait (timedOut), as it ends the sending.
      let deadline: NodeJS.Timeout | undefined;
      await Promise.race([receiver.settle(sent), new Promise<void>((resolve) => (deadline = setTimeout(resolve, Math.max(0, limits.deadline - now()))))]).finally(() => clearTimeout(deadline));
      lastBusy = now();
      cpu = cpuSeconds(receiver.pids);
    } else {
      while (now() - lastBusy < QUIET_MS && now() < limits.deadline) {
        await sleep(SAMPLE_MS);
        const c = cpuSeconds(receiver.pids);
        if (c > cpu || queueNow().queued > 0) lastBusy = now();
        cpu = c;
      }
    }
    return {
      sent,
      seconds: (lastBusy - began) / 1000,
      cpuSeconds: cpu - cpuBefore,
      waited: waited / 1000,
      longestWait: longestWait / 1000,
      kernelDrops: queueNow().drops - dropsBefore,
      timedOut: now() >= limits.deadline,
    };
  } finally {
    socket.close();
  }
}
