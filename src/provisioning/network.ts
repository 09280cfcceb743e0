import { newId } from '../core/identity/ids.ts';
import { MAX_PREFIX_UNITS_BITS } from '../aaa/allocation/unit-layout.ts';
import { canonicalAddress, cidrContains, cidrsOverlap, parseCidr, type Cidr } from '../core/network/cidr.ts';
import { normaliseTlsFingerprint } from '../aaa/protocol/tls-fingerprint.ts';
import { SidebandError } from '../errors/sideband-error.ts';
import { appendAudit } from '../store/audit-log.ts';
import type { Store, Tx } from '../store/open-store.ts';
import type { Vault } from '../vault/vault.ts';
import { toIso } from '../core/time/to-iso.ts';

export interface NasView {
  id: string;
  name: string;
  address: string;
  pool: string | null;
  /** The IPv6 pools its subscribers draw a Framed-IPv6-Prefix and a Delegated-IPv6-Prefix from. */
  framedIpv6Pool: string | null;
  delegatedIpv6Pool: string | null;
  requireMessageAuthenticator: boolean;
  /** Its dynamic-authorization port (RFC 5176 §3.4), where Disconnect- and CoA-Requests go. */
  coaPort: number;
  /** Where Disconnect- and CoA-Requests go when not the NAS's own source address; null: that address. */
  coaAddress: string | null;
  /** RadSec (RFC 6614): the SHA-256 fingerprint of its client certificate, 64 hex digits. */
  tlsFingerprint: string | null;
  /** RadSec: the name a certificate from the configured CA must carry for this NAS. */
  tlsName: string | null;
  createdAt: string;
}

export interface PoolView {
  id: string;
  name: string;
  cidr: string;
  portsPerBlock: number | null;
  /** An IPv6 pool's unit: the length of the prefixes it hands out. */
  prefixLength: number | null;
  createdAt: string;
}

export interface AddNas {
  name: string;
  address: string;
  secret: string;
  pool?: string | null;
  framedIpv6Pool?: string | null;
  delegatedIpv6Pool?: string | null;
  /** BlastRADIUS (CVE-2024-3596): on by default; relax only for a NAS that cannot send it. */
  requireMessageAuthenticator?: boolean;
  /** RFC 5176 §3.4: "UDP port 3799" unless the NAS is configured otherwise. */
  coaPort?: number;
  /** RFC 5176 §3: a NAS whose dynamic-authorization server listens on another address than it sends RADIUS from. */
  coaAddress?: string | null;
  /** RFC 6614: the client certificate's SHA-256 fingerprint (hex, colons optional). */
  tlsFingerprint?: string | null;
  /** RFC 6614: or a certificate from the configured CA naming the NAS (subjectAltName DNS, else CN). */
  tlsName?: string | null;
}

/** What `sideband nas update` may change; null clears an optional setting. */
export type UpdateNas = Partial<Pick<AddNas, 'coaPort' | 'coaAddress' | 'tlsFingerprint' | 'tlsName'>>;

/** RFC 5176 §3.4: "UDP port 3799" unless the NAS is configured otherwise. */
function checkCoaPort(port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new SidebandError('REQUEST_INVALID', 'The dynamic-authorization (CoA) port must be 1 to 65535.', { param: 'coaPort' });
  return port;
}

/** A single host address (not a range, not the unspecified or a multicast address). */
function checkCoaAddress(address: string | null | undefined): string | null {
  if (address == null) return null;
  const text = canonicalAddress(address, 'coaAddress');
  if (text === '0.0.0.0' || text === '::' || /^(22[4-9]|2[3-5]\d)\./.test(text) || /^ff/i.test(text)) {
    throw new SidebandError('NAS_COA_ADDRESS_INVALID', `${text} cannot take Disconnect- and CoA-Requests: give the NAS's unicast address.`, { param: 'coaAddress' });
  }
  return text;
}

function checkTlsName(name: string | null | undefined): string | null {
  if (name == null) return null;
  const trimmed = name.trim().toLowerCase();
  if (!/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/.test(trimmed)) throw new SidebandError('REQUEST_INVALID', 'A TLS name is a DNS name such as bng1.access.isp.example.', { param: 'tlsName' });
  return trimmed;
}

/** Operator-side management of NAS clients, address pools and flow exporters. */
export class NetworkProvisioning {
  constructor(
    private readonly store: Store,
    private readonly vault: Vault,
    private readonly actor = 'cli',
  ) {}

  /**
   * Adds a pool: an IPv4 range of addresses (shared by port blocks with `portsPerBlock`),
   * or an IPv6 range carved into prefixes of `prefixLength`.
   *
   * @example
   * await network.addPool({ name: 'home-56', cidr: '2001:db8:100::/40', prefixLength: 56 }); // 65,536 Delegated-IPv6-Prefix units
   */
  async addPool(input: { name: string; cidr: string; portsPerBlock?: number | null; prefixLength?: number | null }): Promise<PoolView> {
    const name = input.name.trim();
    if (!/^[\w.-]{1,64}$/.test(name)) throw new SidebandError('REQUEST_INVALID', 'A pool name is 1 to 64 letters, digits, dots, dashes or underscores.', { param: 'name' });
    const cidr = parseCidr(input.cidr);
    const prefixLength = checkPrefixLength(cidr, input.prefixLength ?? null, input.portsPerBlock ?? null);
    if (cidr.family === 4 && cidr.prefix < 8) throw new SidebandError('POOL_TOO_LARGE', `${cidr.text} is too large for one pool (at most a /8).`, { param: 'cidr' });
    if (prefixLength !== null && prefixLength - cidr.prefix > MAX_PREFIX_UNITS_BITS) {
      throw new SidebandError('POOL_TOO_LARGE', `${cidr.text} holds more than 2^${MAX_PREFIX_UNITS_BITS} /${prefixLength} prefixes; use a range of /${prefixLength - MAX_PREFIX_UNITS_BITS} or longer.`, { param: 'cidr' });
    }
    const ppb = input.portsPerBlock ?? null;
    if (ppb !== null && (!Number.isInteger(ppb) || ppb < 64 || ppb > 64512 || 64512 % ppb !== 0)) {
      throw new SidebandError('REQUEST_INVALID', 'ports per block must divide the 64,512 non-system ports evenly (e.g. 1008, 2016, 4032) and be at least 64.', { param: 'portsPerBlock' });
    }
    const now = Date.now();
    const id = newId('pool', now);
    await this.store.db.transaction().execute(async (tx) => {
      const existing = await tx.selectFrom('pools').select(['name', 'cidr']).execute();
      if (existing.some((p) => p.name === name)) throw new SidebandError('POOL_NAME_TAKEN', `A pool named ${name} already exists.`, { param: 'name' });
      const clash = existing.find((p) => cidrsOverlap(parseCidr(p.cidr), cidr));
      if (clash) throw new SidebandError('POOL_OVERLAP', `${cidr.text} overlaps pool ${clash.name} (${clash.cidr}).`, { param: 'cidr' });
      await tx.insertInto('pools').values({ id, name, cidr: cidr.text, ports_per_block: ppb, prefix_length: prefixLength, created_at: now }).execute();
      await appendAudit(tx, { actor: this.actor, action: 'pool.add', subjectType: 'pool', subjectId: id, detail: { name, cidr: cidr.text, portsPerBlock: ppb, prefixLength } });
    });
    return { id, name, cidr: cidr.text, portsPerBlock: ppb, prefixLength, createdAt: toIso(now) };
  }

  async listPools(): Promise<PoolView[]> {
    const rows = await this.store.db.selectFrom('pools').selectAll().orderBy('name').execute();
    return rows.map((p) => ({ id: p.id, name: p.name, cidr: p.cidr, portsPerBlock: p.ports_per_block, prefixLength: p.prefix_length, createdAt: toIso(p.created_at) }));
  }

  async addNas(input: AddNas): Promise<NasView> {
    const name = input.name.trim();
    if (!/^[\w.-]{1,64}$/.test(name)) throw new SidebandError('REQUEST_INVALID', 'A NAS name is 1 to 64 letters, digits, dots, dashes or underscores.', { param: 'name' });
    const address = parseCidr(input.address, 'address');
    // RFC 2865 §3: "The secret … SHOULD be at least as large and unguessable as a
    // well-chosen password. It is preferred that the secret be at least 16 octets."
    if (Buffer.byteLength(input.secret) < 16) throw new SidebandError('NAS_SECRET_WEAK', 'The shared secret must be at least 16 characters.', { param: 'secret' });
    const coaPort = checkCoaPort(input.coaPort ?? 3799);
    const coaAddress = checkCoaAddress(input.coaAddress);
    const tlsFingerprint = input.tlsFingerprint == null ? null : normaliseTlsFingerprint(input.tlsFingerprint);
    const tlsName = checkTlsName(input.tlsName);
    const now = Date.now();
    const id = newId('nas', now);
    await this.store.db.transaction().execute(async (tx) => {
      const taken = await tx.selectFrom('nas_clients').select(['id', 'removed_at']).where('name', '=', name).executeTakeFirst();
      if (taken) {
        // A removed NAS keeps its name: sessions in the history are resolved to it.
        throw new SidebandError('NAS_NAME_TAKEN', taken.removed_at === null ? `A NAS client named ${name} already exists.` : `A NAS client named ${name} was removed; its name stays with its sessions in the history. Choose another name.`, { param: 'name' });
      }
      if (tlsFingerprint) await assertFingerprintFree(tx, tlsFingerprint, null);
      if (tlsName) await assertTlsNameFree(tx, tlsName, null);
      const poolNamed = async (poolName: string | null | undefined, family: 4 | 6, param: string): Promise<string | null> => {
        if (!poolName) return null;
        const pool = await tx.selectFrom('pools').select(['id', 'cidr']).where('name', '=', poolName).executeTakeFirst();
        if (!pool) throw new SidebandError('POOL_NOT_FOUND', `No pool named ${poolName}.`, { param });
        if (parseCidr(pool.cidr).family !== family) throw new SidebandError('NAS_POOL_FAMILY_MISMATCH', `Pool ${poolName} (${pool.cidr}) is not an IPv${family} pool; ${param} takes one.`, { param });
        return pool.id;
      };
      const poolId = await poolNamed(input.pool, 4, 'pool');
      const framedIpv6PoolId = await poolNamed(input.framedIpv6Pool, 6, 'framedIpv6Pool');
      const delegatedIpv6PoolId = await poolNamed(input.delegatedIpv6Pool, 6, 'delegatedIpv6Pool');
      const secretRecord = await this.vault.seal(tx, 'nas-secret', { secret: input.secret }, now);
      await tx
        .insertInto('nas_clients')
        .values({ id, name, address: address.text, secret_record_id: secretRecord, require_message_authenticator: input.requireMessageAuthenticator === false ? 0 : 1, pool_id: poolId, framed_ipv6_pool_id: framedIpv6PoolId, delegated_ipv6_pool_id: delegatedIpv6PoolId, created_at: now, coa_port: coaPort, coa_address: coaAddress, tls_fingerprint: tlsFingerprint, tls_name: tlsName })
        .execute();
      await appendAudit(tx, { actor: this.actor, action: 'nas.add', subjectType: 'nas', subjectId: id, detail: { name, address: address.text, pool: input.pool ?? null, framedIpv6Pool: input.framedIpv6Pool ?? null, delegatedIpv6Pool: input.delegatedIpv6Pool ?? null, coaPort, coaAddress, tlsFingerprint, tlsName } });
    });
    return (await this.listNas()).find((n) => n.id === id)!;
  }

  /**
   * Changes where a NAS takes Disconnect- and CoA-Requests and how it is known over
   * RadSec; each field left out stays, null clears it. Audited with the old and new values,
   * and announced like every `nas.` change, so other gateways reload their clients.
   */
  async updateNas(name: string, change: UpdateNas): Promise<NasView> {
    const view = (await this.listNas()).find((n) => n.name === name);
    if (!view) throw new SidebandError('NAS_NOT_FOUND', `No NAS client named ${name}.`, { param: 'name' });
    const patch: { coa_port?: number; coa_address?: string | null; tls_fingerprint?: string | null; tls_name?: string | null } = {};
    if (change.coaPort !== undefined) patch.coa_port = checkCoaPort(change.coaPort);
    if (change.coaAddress !== undefined) patch.coa_address = checkCoaAddress(change.coaAddress);
    if (change.tlsFingerprint !== undefined) patch.tls_fingerprint = change.tlsFingerprint === null ? null : normaliseTlsFingerprint(change.tlsFingerprint);
    if (change.tlsName !== undefined) patch.tls_name = checkTlsName(change.tlsName);
    if (Object.keys(patch).length === 0) throw new SidebandError('REQUEST_INVALID', 'Nothing to change: give --coa-address, --coa-port, --tls-fingerprint or --tls-name.');
    await this.store.db.transaction().execute(async (tx) => {
      if (patch.tls_fingerprint) await assertFingerprintFree(tx, patch.tls_fingerprint, view.id);
      if (patch.tls_name) await assertTlsNameFree(tx, patch.tls_name, view.id);
      const r = await tx.updateTable('nas_clients').set(patch).where('id', '=', view.id).where('removed_at', 'is', null).executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) throw new SidebandError('NAS_NOT_FOUND', `No NAS client named ${name}.`, { param: 'name' });
      const before = { coaPort: view.coaPort, coaAddress: view.coaAddress, tlsFingerprint: view.tlsFingerprint, tlsName: view.tlsName };
      await appendAudit(tx, { actor: this.actor, action: 'nas.update', subjectType: 'nas', subjectId: view.id, detail: { name, before, change: { ...change, ...('tlsFingerprint' in patch ? { tlsFingerprint: patch.tls_fingerprint } : {}) } } });
    });
    return (await this.listNas()).find((n) => n.id === view.id)!;
  }

  /**
   * Removes a NAS client: it no longer appears among the clients, and its name and
   * sessions stay in the history that resolution answers from (sessions refer to it, so
   * the row is marked, not deleted).
   */
  async removeNas(name: string): Promise<NasView> {
    const now = Date.now();
    const view = (await this.listNas()).find((n) => n.name === name);
    if (!view) throw new SidebandError('NAS_NOT_FOUND', `No NAS client named ${name}.`, { param: 'name' });
    await this.store.db.transaction().execute(async (tx) => {
      const r = await tx.updateTable('nas_clients').set({ removed_at: now }).where('id', '=', view.id).where('removed_at', 'is', null).executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) throw new SidebandError('NAS_NOT_FOUND', `No NAS client named ${name}.`, { param: 'name' });
      await appendAudit(tx, { actor: this.actor, action: 'nas.remove', subjectType: 'nas', subjectId: view.id, detail: { name, address: view.address, pool: view.pool } });
    });
    return view;
  }

  /**
   * Removes an empty pool: refused while a NAS client draws from it or a session holds
   * (or was just given) one of its addresses, naming them.
   */
  async removePool(name: string): Promise<PoolView> {
    const pool = (await this.listPools()).find((p) => p.name === name);
    if (!pool) throw new SidebandError('POOL_NOT_FOUND', `No pool named ${name}.`, { param: 'name' });
    await this.store.db.transaction().execute(async (tx) => {
      // A removed NAS client keeps its pool in its row until the pool goes (the row refers to it).
      for (const column of ['pool_id', 'framed_ipv6_pool_id', 'delegated_ipv6_pool_id'] as const) {
        await tx.updateTable('nas_clients').set({ [column]: null }).where(column, '=', pool.id).where('removed_at', 'is not', null).execute();
      }
      const drawing = await tx
        .selectFrom('nas_clients')
        .select('name')
        .where((eb) => eb.or([eb('pool_id', '=', pool.id), eb('framed_ipv6_pool_id', '=', pool.id), eb('delegated_ipv6_pool_id', '=', pool.id)]))
        .orderBy('name')
        .execute();
      if (drawing.length > 0) throw new SidebandError('POOL_IN_USE', `NAS client${drawing.length > 1 ? 's' : ''} ${drawing.map((n) => n.name).join(', ')} draw${drawing.length > 1 ? '' : 's'} from pool ${name}: remove ${drawing.length > 1 ? 'them' : 'it'} first (\`sideband nas remove\`).`, { param: 'name' });
      const { n } = await tx.selectFrom('sessions').select((eb) => eb.fn.countAll<number>().as('n')).where('pool_id', '=', pool.id).where('status', '!=', 'closed').executeTakeFirstOrThrow();
      const range = parseCidr(pool.cidr);
      if (range.family === 6) {
        const open = await tx.selectFrom('prefix_bindings').select('network').where('end_at', 'is', null).execute();
        const held = open.filter((b) => cidrContains(range, b.network)).length;
        if (held > 0) throw new SidebandError('POOL_IN_USE', `${held} session prefix${held > 1 ? 'es' : ''} from pool ${name} ${held > 1 ? 'are' : 'is'} still held: wait until the sessions end.`, { param: 'name' });
      }
      if (Number(n) > 0) throw new SidebandError('POOL_IN_USE', `${Number(n)} session${Number(n) > 1 ? 's' : ''} still hold${Number(n) > 1 ? '' : 's'} an address from pool ${name}: wait until they end.`, { param: 'name' });
      await tx.deleteFrom('pools').where('id', '=', pool.id).execute();
      await appendAudit(tx, { actor: this.actor, action: 'pool.remove', subjectType: 'pool', subjectId: pool.id, detail: { name, cidr: pool.cidr } });
    });
    return pool;
  }

  async listNas(): Promise<NasView[]> {
    const rows = await this.store.db
      .selectFrom('nas_clients')
      .leftJoin('pools', 'pools.id', 'nas_clients.pool_id')
      .leftJoin('pools as framed_pools', 'framed_pools.id', 'nas_clients.framed_ipv6_pool_id')
      .leftJoin('pools as delegated_pools', 'delegated_pools.id', 'nas_clients.delegated_ipv6_pool_id')
      .select(['nas_clients.id', 'nas_clients.name', 'nas_clients.address', 'nas_clients.require_message_authenticator', 'nas_clients.coa_port', 'nas_clients.coa_address', 'nas_clients.tls_fingerprint', 'nas_clients.tls_name', 'nas_clients.created_at', 'pools.name as pool', 'framed_pools.name as framed_pool', 'delegated_pools.name as delegated_pool'])
      .where('nas_clients.removed_at', 'is', null)
      .orderBy('nas_clients.name')
      .execute();
    return rows.map((n) => ({ id: n.id, name: n.name, address: n.address, pool: n.pool, framedIpv6Pool: n.framed_pool, delegatedIpv6Pool: n.delegated_pool, requireMessageAuthenticator: n.require_message_authenticator === 1, coaPort: n.coa_port,
      coaAddress: n.coa_address, tlsFingerprint: n.tls_fingerprint, tlsName: n.tls_name, createdAt: toIso(n.created_at),
    }));
  }
}

/** An IPv6 pool's unit length: required, within its range; an IPv4 pool has none. */
function checkPrefixLength(cidr: Cidr, prefixLength: number | null, portsPerBlock: number | null): number | null {
  if (cidr.family === 4) {
    if (prefixLength !== null) throw new SidebandError('POOL_PREFIX_LENGTH_INVALID', `${cidr.text} is an IPv4 range: its addresses are handed out one by one, without a prefix length.`, { param: 'prefixLength' });
    return null;
  }
  if (portsPerBlock !== null) throw new SidebandError('POOL_PREFIX_LENGTH_INVALID', `${cidr.text} is an IPv6 range: its prefixes are not shared by port blocks.`, { param: 'portsPerBlock' });
  if (prefixLength === null || !Number.isInteger(prefixLength) || prefixLength < cidr.prefix || prefixLength > 128) {
    throw new SidebandError('POOL_PREFIX_LENGTH_INVALID', `${cidr.text} is an IPv6 range: give the length of the prefixes it hands out, from ${cidr.prefix} to 128 (64 for Framed-IPv6-Prefix, 56 for Delegated-IPv6-Prefix).`, { param: 'prefixLength' });
  }
  return prefixLength;
}

/** One certificate names one NAS: otherwise a RadSec connection could not be told whose it is. */
async function assertFingerprintFree(tx: Tx, fingerprint: string, except: string | null): Promise<void> {
  let q = tx.selectFrom('nas_clients').select('name').where('tls_fingerprint', '=', fingerprint).where('removed_at', 'is', null);
  if (except) q = q.where('id', '!=', except);
  const holder = await q.executeTakeFirst();
  if (holder) throw new SidebandError('NAS_TLS_FINGERPRINT_TAKEN', `NAS client ${holder.name} is registered with that certificate fingerprint.`, { param: 'tlsFingerprint' });
}

/** One certificate name names one NAS, for the same reason (a unique index backs both checks). */
async function assertTlsNameFree(tx: Tx, name: string, except: string | null): Promise<void> {
  let q = tx.selectFrom('nas_clients').select('name').where('tls_name', '=', name).where('removed_at', 'is', null);
  if (except) q = q.where('id', '!=', except);
  const holder = await q.executeTakeFirst();
  if (holder) throw new SidebandError('NAS_TLS_NAME_TAKEN', `NAS client ${holder.name} is known over RadSec by the name ${name}.`, { param: 'tlsName' });
}
