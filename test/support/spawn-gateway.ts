import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export interface SpawnedGateway {
  child: ChildProcess;
  stdout: () => string;
  /** Resolves with the exit code after SIGTERM. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `sideband start` as an operator would and waits for it to print that it runs.
 * Its output is kept in the suite's log directory for the never-in-clear scan.
 */
export async function spawnGateway(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 30_000): Promise<SpawnedGateway> {
  const child = spawn(process.execPath, ['bin/sideband.js', ...args, 'start'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const dir = process.env.SIDEBAND_TEST_LOG_DIR;
  const log = dir ? (mkdirSync(dir, { recursive: true }), createWriteStream(join(dir, `gateway-process-${child.pid}.log`))) : null;
  child.stdout!.on('data', (c: Buffer) => { out += c.toString(); log?.write(c); });
  child.stderr!.on('data', (c: Buffer) => { out += c.toString(); log?.write(c); });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start in ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const check = () => {
      if (out.includes('Stop with Ctrl-C.')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`gateway exited with ${code}:\n${out}`)); });
  });
  return {
    child,
    stdout: () => out,
    stop(signal = 'SIGTERM') {
      return new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => { log?.end(); resolve(code); });
        child.kill(signal);
      });
    },
  };
}

/** Environment that puts every listener of a gateway on an ephemeral loopback port. */
export const ephemeralPorts: NodeJS.ProcessEnv = {
  SIDEBAND_LISTEN_HOST: '127.0.0.1',
  SIDEBAND_RADIUS_AUTH_PORT: '0',
  SIDEBAND_RADIUS_ACCT_PORT: '0',
  SIDEBAND_OPERATOR_PORT: '0',
  SIDEBAND_MERCHANT_PORT: '0',
  SIDEBAND_NETFLOW_PORT: '0',
  SIDEBAND_IPFIX_PORT: '0',
  SIDEBAND_EXCHANGE_PORT: '0',
  SIDEBAND_PORTAL_PORT: '0',
  SIDEBAND_DEMO_STORE_PORT: '0',
};
