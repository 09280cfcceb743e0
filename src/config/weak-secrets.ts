import { isIP } from 'node:net';
import { SidebandError } from '../errors/sideband-error.ts';
import type { Config } from './schema.ts';

/**
 * Values that appear in documentation, defaults and tutorials: anyone can try them. The
 * first was this project's own default for the provider's line password, which let anyone
 * who could reach the exchange register the provider's numbers and take its calls.
 */
const KNOWN_VALUES = new Set(['provider-line-password', 'password', 'changeme', 'change-me', 'secret', 'testing123', 'sideband', 'admin', 'default', '12345678', 'letmein']);

export const MIN_SECRET_LENGTH = 16;

/** Why a secret is weak, or null when it is acceptable. */
export function weakness(secret: string, username?: string): string | null {
  if (KNOWN_VALUES.has(secret.toLowerCase())) return 'is a published default';
  if (username !== undefined && secret.toLowerCase() === username.toLowerCase()) return 'is the same as its username';
  if (secret.length < MIN_SECRET_LENGTH) return `is shorter than ${MIN_SECRET_LENGTH} characters`;
  return null;
}

const isLoopback = (host: string): boolean => host === 'localhost' || (isIP(host) === 4 ? host.startsWith('127.') : host === '::1');

/**
 * The development start: every address the gateway and its exchange listen on is a
 * loopback address, so nobody but this machine's users can present a credential. Outside
 * it, a configured credential that is weak or a published default is refused.
 */
export function isDevelopmentStart(config: Config): boolean {
  const hosts = [config.listen.host];
  if (config.channel.enabled) hosts.push(config.channel.mediaAddress, config.channel.exchange.host);
  return hosts.every(isLoopback);
}

/**
 * Refuses known weak or default credentials in the configuration, outside the development
 * start. `sideband exchange` alone passes the one address it listens on.
 */
export function refuseWeakSecrets(config: Config, listening?: readonly string[]): void {
  if (listening ? listening.every(isLoopback) : isDevelopmentStart(config) || !config.channel.enabled) return;
  const x = config.channel.exchange;
  const checks: Array<{ setting: string; secret: string | undefined; username: string }> = [
    { setting: 'channel.exchange.password', secret: x.password, username: x.username },
    ...x.lines.map((l, i) => ({ setting: `channel.exchange.lines[${i}].password`, secret: l.password, username: l.username })),
  ];
  for (const c of checks) {
    if (c.secret === undefined) continue;
    const why = weakness(c.secret, c.username);
    if (why) {
      throw new SidebandError('CONFIG_SECRET_WEAK', `${c.setting} ${why}, and the gateway listens beyond loopback. ${c.setting === 'channel.exchange.password' ? 'Leave it out to have a random one generated and kept in the vault, or set' : 'Set'} a random value of at least ${MIN_SECRET_LENGTH} characters (e.g. \`openssl rand -base64 24\`).`, { param: c.setting });
    }
  }
}
