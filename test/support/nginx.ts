import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const NGINX = '/usr/sbin/nginx';
export const haveNginx = spawnSync(NGINX, ['-v'], { stdio: 'ignore' }).status === 0;
export const nginxMissing = 'nginx missing (apt-get install nginx)';

/**
 * What the proxy tells the upstream about the client's request, the two ways proxies do:
 * `x-forwarded` sets X-Forwarded-Proto and X-Forwarded-Host, `forwarded` sets RFC 7239
 * Forwarded; each clears the other, as docs/merchant-api.md asks of a trusted proxy.
 */
export type ForwardingHeaders = 'x-forwarded' | 'forwarded';

export interface TlsProxyOptions {
  /** host:port of the plain-HTTP upstream (the gateway's merchant listener). */
  readonly upstream: string;
  readonly headers: ForwardingHeaders;
  /** The port to listen on; a free one when absent. */
  readonly port?: number;
  /** Names the log file in SIDEBAND_TEST_LOG_DIR. */
  readonly name?: string;
}

export interface RunningTlsProxy {
  readonly port: number;
  /** `https://127.0.0.1:PORT`: what a client addresses, and signs. */
  readonly origin: string;
  /** The proxy's self-signed certificate (PEM), for the client to trust. */
  readonly ca: string;
  log(): string;
  stop(): Promise<void>;
}

/** A TCP port on 127.0.0.1 nobody uses right now. */
export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** nginx terminating TLS on 127.0.0.1 and proxying everything to `upstream` over HTTP/1.1. */
export function nginxConfig(dir: string, port: number, upstream: string, headers: ForwardingHeaders): string {
  const forwarding = headers === 'x-forwarded'
    ? ['proxy_set_header X-Forwarded-Proto $scheme;', 'proxy_set_header X-Forwarded-Host $http_host;', 'proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;', 'proxy_set_header Forwarded "";']
    : ['proxy_set_header Forwarded "for=$remote_addr;proto=$scheme;host=\\"$http_host\\"";', 'proxy_set_header X-Forwarded-Proto "";', 'proxy_set_header X-Forwarded-Host "";', 'proxy_set_header X-Forwarded-For "";'];
  return `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log stderr info;
events { worker_connections 128; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${dir}/cert.pem;
    ssl_certificate_key ${dir}/key.pem;
    location / {
      proxy_pass http://${upstream};
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      ${forwarding.join('\n      ')}
    }
  }
}
`;
}

/**
 * Starts nginx in the foreground as one process (`daemon off; master_process off;`), its
 * config, pid file, temp paths and a fresh self-signed certificate (openssl, P-256, for
 * IP 127.0.0.1) in a temp dir, and waits until it has bound its port. When no port is
 * given and the one chosen was taken meanwhile, it tries another. stop() ends it and
 * removes the temp dir.
 */
export async function startTlsProxy(options: TlsProxyOptions): Promise<RunningTlsProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'sideband-nginx-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const ca = readFileSync(join(dir, 'cert.pem'), 'utf8');
  for (let attempt = 0; ; attempt++) {
    const port = options.port ?? (await freeTcpPort());
    writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir, port, options.upstream, options.headers));
    const started = await run(dir, port, options.name ?? 'nginx');
    if (started.ok) return { port, origin: `https://127.0.0.1:${port}`, ca, log: started.log, stop: started.stop };
    const taken = /Address already in use/.test(started.log());
    if (!taken || options.port !== undefined || attempt >= 4) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`nginx did not start:\n${started.log().slice(-3000)}`);
    }
  }
}

type Started = { ok: true; log: () => string; stop: () => Promise<void> } | { ok: false; log: () => string };

async function run(dir: string, port: number, name: string): Promise<Started> {
  const child: ChildProcess = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', 'stderr'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const logFile = process.env.SIDEBAND_TEST_LOG_DIR ? createWriteStream(join(process.env.SIDEBAND_TEST_LOG_DIR, `${name}-${process.pid}.log`), { flags: 'a' }) : null;
  child.stderr!.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-200_000);
    logFile?.write(chunk);
  });
  let dead = false;
  const exited = new Promise<void>((resolve) => child.once('exit', () => {
    dead = true;
    resolve();
  }));
  // Should the test process die without running its after-hooks, nginx must not outlive it.
  const killOnExit = () => {
    if (!dead) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const stop = async () => {
    if (!dead) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(killer);
    }
    process.off('exit', killOnExit);
    logFile?.end();
  };

  // nginx writes its pid file only after it has bound its port (nginx.c: ngx_init_cycle,
  // then ngx_create_pidfile), so the file naming this child means the port is its own;
  // an exit first means a bad config or a port taken meanwhile.
  const deadline = Date.now() + 10_000;
  let bound = false;
  while (!dead && !bound && Date.now() <= deadline) {
    bound = pidFileNames(dir, child.pid);
    if (!bound) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  if (!bound || dead) {
    await stop();
    return { ok: false, log: () => log };
  }
  return {
    ok: true,
    log: () => log,
    stop: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function pidFileNames(dir: string, pid: number | undefined): boolean {
  try {
    return readFileSync(join(dir, 'nginx.pid'), 'utf8').trim() === String(pid);
  } catch {
    return false;
  }
}
