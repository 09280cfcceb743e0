import { lookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * Addresses a webhook is never sent to unless the operator allows them: a merchant names
 * the URL (a CAMARA `sink` in each request), so without this the gateway would POST, with
 * retries, to anything it can reach inside the provider's network — its own listeners,
 * the database, a cloud's metadata service, the subscribers' own addresses (100.64/10).
 */
const PRIVATE = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.0.0.0', 24],
  ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) PRIVATE.addSubnet(network, prefix, 'ipv4');
// IPv6 also carries IPv4 addresses inside it (NAT64's 64:ff9b::/96 and its local /48, 6to4's
// 2002::/16, the old compatible ::/96): refused whole, as what they reach is an IPv4 address
// on the provider's side of the translator.
for (const [network, prefix] of [['::', 96], ['::1', 128], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['2002::', 16], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8]] as const) PRIVATE.addSubnet(network, prefix, 'ipv6');

const MAPPED = new BlockList();
MAPPED.addSubnet('::ffff:0:0', 96, 'ipv6');

/** Whether an IP address (either family; IPv4-mapped IPv6 judged as its IPv4) is one webhooks are not sent to. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  if (family === 4) return PRIVATE.check(address, 'ipv4');
  // ::ffff:a.b.c.d in any spelling (::ffff:7f00:1 too): judged as the IPv4 address it is.
  if (MAPPED.check(address, 'ipv6')) return PRIVATE.check(v4Of(address), 'ipv4');
  return PRIVATE.check(address, 'ipv6');
}

/** The IPv4 address in the last 32 bits of an IPv4-mapped IPv6 address, however spelled. */
function v4Of(mapped: string): string {
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(mapped);
  if (dotted) return dotted[1]!;
  const groups = mapped.split(':');
  const hi = Number.parseInt(groups.at(-2) || '0', 16);
  const lo = Number.parseInt(groups.at(-1) || '0', 16);
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}

export type PrivateTargets = 'refuse' | 'allow';

export class WebhookTargetRefused extends Error {
  constructor(host: string, address: string) {
    super(`the webhook URL's host ${host} is ${address === host ? '' : `at ${address}, `}a private, loopback or link-local address (merchantApi.webhookPrivateTargets is refuse)`);
    this.name = 'WebhookTargetRefused';
  }
}

/**
 * The connection's own name lookup refuses a private answer: the address checked is the
 * address connected to, so a name that resolves to a public address when checked and to
 * 127.0.0.1 when connecting (DNS rebinding) gets nowhere.
 */
const publicOnly: LookupFunction = (hostname, options, callback) => {
  lookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
    if (err) return callback(err, '', 0);
    const allowed = addresses.filter((a) => !isPrivateAddress(a.address));
    if (allowed.length === 0) return callback(new WebhookTargetRefused(hostname, addresses[0]?.address ?? hostname), '', 0);
    if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, allowed);
    callback(null, allowed[0]!.address, allowed[0]!.family);
  });
};

/**
 * POSTs one delivery and answers its status (the body is read and dropped). Redirects are
 * not followed. With `refuse`, a URL whose host is a private address, or a name resolving
 * only to such addresses, fails with WebhookTargetRefused before anything is sent.
 */
export function postDelivery(url: string, headers: Record<string, string>, body: string, options: { timeoutMs: number; privateTargets: PrivateTargets }): Promise<number> {
  const target = new URL(url);
  const host = target.hostname.replace(/^\[(.*)\]$/, '$1');
  const refuse = options.privateTargets === 'refuse';
  if (refuse && isIP(host) !== 0 && isPrivateAddress(host)) return Promise.reject(new WebhookTargetRefused(host, host));
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<number>((resolve, reject) => {
    // agent: false: a pooled connection would be reused by host and port alone, past the lookup's check.
    const req = send(target, { method: 'POST', agent: false, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, signal: AbortSignal.timeout(options.timeoutMs), ...(refuse ? { lookup: publicOnly } : {}) }, (res: IncomingMessage) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
