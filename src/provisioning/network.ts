import { newId } from '../core/identity/ids.ts';
import { cidrsOverlap, parseCidr } from '../core/network/cidr.ts';
import { SidebandError } from '../errors/sideband-error.ts';
import { appendAudit } from '../store/audit-log.ts';
import type { Store } from '../store/open-store.ts';
import type { Vault } from '../vault/vault.ts';
import { toIso } from '../core/time/to-iso.ts';

export interface NasView {
  id: string;
  name: string;
  address: string;
  pool: string | null;
  requireMessageAuthenticator: boolean;
  /** Its dynamic-authorization port (RFC 5176 §3.4), where Disconnect- and CoA-Requests go. */
  coaPort: number;
  createdAt: string;
}

export interface PoolView {
  id: string;
  name: string;
  cidr: string;
  portsPerBlock: number | null;
  createdAt: string;
}

export interface AddNas {
  name: string;
  address: string;
  secret: string;
  pool?: string | null;
  /** BlastRADIUS (CVE-2024-3596): on by default; relax only for a NAS that cannot send it. */
  requireMessageAuthenticator?: boolean;
  /** RFC 5176 §3.4: "UDP port 3799" unless the NAS is configured otherwise. */
  coaPort?: number;
}

/** Operator-side management of NAS clients, address pools and flow exporters. */
export class NetworkProvisioning {
  constructor(
    private readonly store: Store,
    private readonly vault: Vault,
    private readonly actor = 'cli',
  ) {}

  async addPool(input: { name: string; cidr: string; portsPerBlock?: number | null }): Promise<PoolView> {
    const name = input.name.trim();
    if (!/^[\w.-]{1,64}$/.test(name)) throw new SidebandError('REQUEST_INVALID', 'A pool name is 1 to 64 letters, digits, dots, dashes or underscores.', { param: 'name' });
    const cidr = parseCidr(input.cidr);
    if ((cidr.family === 4 && cidr.prefix < 8) || (cidr.family === 6 && cidr.prefix < 104)) {
      throw new SidebandError('POOL_TOO_LARGE', `${cidr.text} is too large for one pool (at most a /8, or a /104 for IPv6).`, { param: 'cidr' });
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
      await tx.insertInto('pools').values({ id, name, cidr: cidr.text, ports_per_block: ppb, created_at: now }).execute();
      await appendAudit(tx, { actor: this.actor, action: 'pool.add', subjectType: 'pool', subjectId: id, detail: { name, cidr: cidr.text, portsPerBlock: ppb } });
    });
    return { id, name, cidr: cidr.text, portsPerBlock: ppb, createdAt: toIso(now) };
  }

  async listPools(): Promise<PoolView[]> {
    const rows = await this.store.db.selectFrom('pools').selectAll().orderBy('name').execute();
    return rows.map((p) => ({ id: p.id, name: p.name, cidr: p.cidr, portsPerBlock: p.ports_per_block, createdAt: toIso(p.created_at) }));
  }

  async addNas(input: AddNas): Promise<NasView> {
    const name = input.name.trim();
    if (!/^[\w.-]{1,64}$/.test(name)) throw new SidebandError('REQUEST_INVALID', 'A NAS name is 1 to 64 letters, digits, dots, dashes or underscores.', { param: 'name' });
    const address = parseCidr(input.address, 'address');
    // RFC 2865 §3: "The secret … SHOULD be at least as large and unguessable as a
    // well-chosen password. It is preferred that the secret be at least 16 octets."
    if (Buffer.byteLength(input.secret) < 16) throw new SidebandError('NAS_SECRET_WEAK', 'The shared secret must be at least 16 characters.', { param: 'secret' });
    const coaPort = input.coaPort ?? 3799;
    if (!Number.isInteger(coaPort) || coaPort < 1 || coaPort > 65535) throw new SidebandError('REQUEST_INVALID', 'The dynamic-authorization (CoA) port must be 1 to 65535.', { param: 'coaPort' });
    const now = Date.now();
    const id = newId('nas', now);
    await this.store.db.transaction().execute(async (tx) => {
      const taken = await tx.selectFrom('nas_clients').select(['id', 'removed_at']).where('name', '=', name).executeTakeFirst();
      if (taken) {
        // A removed NAS keeps its name: sessions in the history are resolved to it.
        throw new SidebandError('NAS_NAME_TAKEN', taken.removed_at === null ? `A NAS client named ${name} already exists.` : `A NAS client named ${name} was removed; its name stays with its sessions in the history. Choose another name.`, { param: 'name' });
      }
      let poolId: string | null = null;
      if (input.pool) {
        const pool = await tx.selectFrom('pools').select('id').where('name', '=', input.pool).executeTakeFirst();
        if (!pool) throw new SidebandError('POOL_NOT_FOUND', `No pool named ${input.pool}.`, { param: 'pool' });
        poolId = pool.id;
      }
      const secretRecord = await this.vault.seal(tx, 'nas-secret', { secret: input.secret }, now);
      await tx
        .insertInto('nas_clients')
        .values({ id, name, address: address.text, secret_record_id: secretRecord, require_message_authenticator: input.requireMessageAuthenticator === false ? 0 : 1, pool_id: poolId, created_at: now, coa_port: coaPort })
        .execute();
      await appendAudit(tx, { actor: this.actor, action: 'nas.add', subjectType: 'nas', subjectId: id, detail: { name, address: address.text, pool: input.pool ?? null, coaPort } });
    });
    return (await this.listNas()).find((n) => n.id === id)!;
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
      await tx.updateTable('nas_clients').set({ pool_id: null }).where('pool_id', '=', pool.id).where('removed_at', 'is not', null).execute();
      const drawing = await tx.selectFrom('nas_clients').select('name').where('pool_id', '=', pool.id).orderBy('name').execute();
      if (drawing.length > 0) throw new SidebandError('POOL_IN_USE', `NAS client${drawing.length > 1 ? 's' : ''} ${drawing.map((n) => n.name).join(', ')} draw${drawing.length > 1 ? '' : 's'} from pool ${name}: remove ${drawing.length > 1 ? 'them' : 'it'} first (\`sideband nas remove\`).`, { param: 'name' });
      const { n } = await tx.selectFrom('sessions').select((eb) => eb.fn.countAll<number>().as('n')).where('pool_id', '=', pool.id).where('status', '!=', 'closed').executeTakeFirstOrThrow();
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
      .select(['nas_clients.id', 'nas_clients.name', 'nas_clients.address', 'nas_clients.require_message_authenticator', 'nas_clients.coa_port', 'nas_clients.created_at', 'pools.name as pool'])
      .where('nas_clients.removed_at', 'is', null)
      .orderBy('nas_clients.name')
      .execute();
    return rows.map((n) => ({ id: n.id, name: n.name, address: n.address, pool: n.pool, requireMessageAuthenticator: n.require_message_authenticator === 1, coaPort: n.coa_port, createdAt: toIso(n.created_at) }));
  }
}
