import { createSocket } from 'node:dgram';
import { createServer, isIPv6 } from 'node:net';
import type { Config } from '../config/schema.ts';
import { environmentSettings } from '../config/schema.ts';
import { SidebandError } from '../errors/sideband-error.ts';

/** One address the gateway will bind, and the setting that chose it. */
export interface PlannedListener {
  setting: string;
  /** The SIDEBAND_* variable that sets the port, when there is one. */
  env: string | null;
  hostSetting: string;
  protocol: 'udp' | 'tcp';
  host: string;
  port: number;
}

const envOf = (setting: string): string | null => environmentSettings.find((e) => e.path.join('.') === setting)?.env ?? null;

/** Every socket `sideband start` will bind with this configuration (the exchange's only when it is built in). */
export function plannedListeners(config: Config): PlannedListener[] {
  const l = config.listen;
  const at = (setting: string, protocol: 'udp' | 'tcp', port: number, host = l.host, hostSetting = 'listen.host'): PlannedListener => ({ setting, env: envOf(setting), hostSetting, protocol, host, port });
  const planned = [
    at('listen.radiusAuth', 'udp', l.radiusAuth),
    at('listen.radiusAcct', 'udp', l.radiusAcct),
    at('listen.netflow', 'udp', l.netflow),
    at('listen.ipfix', 'udp', l.ipfix),
    at('listen.merchantHttp', 'tcp', l.merchantHttp),
    at('listen.operatorHttp', 'tcp', l.operatorHttp),
    at('listen.portalHttp', 'tcp', l.portalHttp),
  ];
  if (config.demo) planned.push(at('listen.demoStoreHttp', 'tcp', l.demoStoreHttp));
  if (config.channel.enabled && config.channel.exchange.builtIn) {
    const x = config.channel.exchange;
    planned.push(at('channel.exchange.port', 'udp', x.port, x.host, 'channel.exchange.host'), at('channel.exchange.port', 'tcp', x.port, x.host, 'channel.exchange.host'));
  }
  return planned;
}

const describe = (p: PlannedListener): string => `${p.setting}${p.env ? ` (${p.env})` : ''}`;
const where = (p: PlannedListener): string => `${p.protocol.toUpperCase()} ${p.host.includes(':') ? `[${p.host}]` : p.host}:${p.port}`;

/**
 * The planned listener a bind failure of a running start came from (Node's socket errors
 * carry the port, and `bind` for UDP, `listen` for TCP), mapped like a probe's failure.
 */
export function explainBindFailure(e: unknown, planned: readonly PlannedListener[]): unknown {
  const err = e as NodeJS.ErrnoException & { port?: number };
  const protocol = err?.syscall === 'bind' ? 'udp' : err?.syscall === 'listen' ? 'tcp' : null;
  const p = planned.find((l) => l.port === err?.port && l.protocol === protocol);
  return (p && listenError(e, p)) ?? e;
}

/** Turns a bind failure into an error that names the setting, or returns null when it is not one. */
export function listenError(e: unknown, p: PlannedListener): SidebandError | null {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (code === 'EADDRINUSE') {
    return new SidebandError('LISTEN_ADDRESS_IN_USE', `${where(p)} for ${describe(p)} is already in use by another process: stop it, or set ${describe(p)} to another port (0 picks a free one).`, { param: p.setting, cause: e });
  }
  if (code === 'EACCES' || code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    const why = code === 'EACCES' ? 'this user may not bind that port' : `${p.host} is not an address of this host (${p.hostSetting})`;
    return new SidebandError('LISTEN_ADDRESS_UNAVAILABLE', `Cannot listen on ${where(p)} for ${describe(p)}: ${why}.`, { param: code === 'EACCES' ? p.setting : p.hostSetting, cause: e });
  }
  return null;
}

function probe(p: PlannedListener): Promise<void> {
  return new Promise((resolve, reject) => {
    if (p.protocol === 'udp') {
      const socket = createSocket({ type: isIPv6(p.host) ? 'udp6' : 'udp4', reuseAddr: false });
      socket.once('error', (e) => {
        socket.close();
        reject(e);
      });
      socket.bind(p.port, p.host, () => socket.close(() => resolve()));
    } else {
      const server = createServer();
      server.once('error', reject);
      server.listen({ port: p.port, host: p.host, exclusive: true }, () => server.close(() => resolve()));
    }
  });
}

/**
 * Binds and releases every fixed port the gateway will use, before it opens the store or
 * seeds demo data, so that a port already taken stops the start with the setting's name
 * rather than half-way through with a bare EADDRINUSE. Port 0 (any free port) is not
 * probed. The listeners themselves map a later failure the same way (a port can still be
 * taken between the probe and the bind).
 */
export async function checkListenAddresses(config: Config, only: (p: PlannedListener) => boolean = () => true): Promise<void> {
  const planned = plannedListeners(config).filter((p) => p.port !== 0 && only(p));
  const seen = new Map<string, PlannedListener>();
  for (const p of planned) {
    const key = `${p.protocol}|${p.host}|${p.port}`;
    const other = seen.get(key);
    if (other && other.setting !== p.setting) {
      throw new SidebandError('CONFIG_INVALID', `${describe(other)} and ${describe(p)} both ask for ${where(p)}: give one of them another port.`, { param: p.setting });
    }
    seen.set(key, p);
  }
  for (const p of planned) {
    try {
      await probe(p);
    } catch (e) {
      throw listenError(e, p) ?? e;
    }
  }
}
