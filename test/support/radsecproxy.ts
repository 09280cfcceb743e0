import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { haveCommand } from '../../scripts/debian-peers.js';

export const haveRadsecproxy = haveCommand('radsecproxy');

export interface Radsecproxy {
  /** Where radclient sends, as a NAS would send to its local proxy: host:port (UDP). */
  udp: string;
  /** The secret radclient uses toward the proxy. */
  secret: string;
  output(): string;
  close(): Promise<void>;
}

/** A free loopback UDP port: radsecproxy's ListenUDP takes no port 0. */
async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * radsecproxy (Debian) as a NAS's RadSec client: it takes RADIUS over UDP from radclient
 * on loopback and forwards it over TLS, presenting `client` and trusting `caFile` for the
 * server's certificate, whose subjectAltName must name 127.0.0.1. Resolves once the
 * proxy listens and its TLS connection to `server` is up.
 */
export async function startRadsecproxy(server: string, tls: { caFile: string; certFile: string; keyFile: string }, options: { waitFor?: RegExp } = {}): Promise<Radsecproxy> {
  const dir = mkdtempSync(join(tmpdir(), 'sideband-radsecproxy-'));
  const port = await freeUdpPort();
  const [host, serverPort] = [server.slice(0, server.lastIndexOf(':')), server.slice(server.lastIndexOf(':') + 1)];
  const secret = 'radsecproxy-udp-side-secret';
  const config = `ListenUDP 127.0.0.1:${port}
LogLevel 4
tls default {
    CACertificateFile ${tls.caFile}
    CertificateFile ${tls.certFile}
    CertificateKeyFile ${tls.keyFile}
}
client radclient {
    host 127.0.0.1
    type udp
    secret ${secret}
}
server sideband {
    host ${host}
    port ${serverPort}
    type tls
    secret radsec
}
realm * {
    server sideband
    accountingServer sideband
}
`;
  writeFileSync(join(dir, 'radsecproxy.conf'), config);
  const child: ChildProcess = spawn('radsecproxy', ['-f', '-c', join(dir, 'radsecproxy.conf'), '-i', join(dir, 'pid')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const ready = options.waitFor ?? /TLS connection to sideband .* up/;
  await new Promise<void>((resolve, reject) => {
    const seen = (c: Buffer) => {
      output += c.toString();
      if (ready.test(output) && /listening for udp/.test(output)) resolve();
    };
    child.stdout!.on('data', seen);
    child.stderr!.on('data', seen);
    child.once('exit', (code) => reject(new Error(`radsecproxy exited (${code}) before it was ready:\n${output}`)));
    child.once('error', reject);
  });
  return {
    udp: `127.0.0.1:${port}`,
    secret,
    output: () => output,
    async close() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
