import { newId } from '../core/identity/ids.ts';
import { cidrsOverlap, parseCidr } from '../core/network/cidr.ts';
import { DeterministicNat, DeterministicNatError } from '../core/network/deterministic-nat.ts';
import { toIso } from '../core/time/to-iso.ts';
import { SidebandError } from '../errors/sideband-error.ts';
import { appendAudit } from '../store/audit-log.ts';
import { announce } from '../store/change-notices.ts';
import type { Db } from '../store/open-store.ts';
import { PreparedStatement, dialectOf } from '../store/prepared-statement.ts';
import type { Store } from '../store/open-store.ts';
import type { DeterministicNatTable } from '../store/nat-schema.ts';

export interface DeterministicNatView {
  id: string;
  name: string;
  inside: string;
  outside: string;
  portsPerSubscriber: number;
  firstPort: number;
  /** How many port ranges each outside address is cut into. */
  rangesPerAddress: number;
  createdAt: string;
  removedAt: string | null;
}

export interface AddDeterministicNat {
  name: string;
  inside: string;
  outside: string;
  portsPerSubscriber: number;
  firstPort?: number;
}

const viewOf = (r: DeterministicNatTable): DeterministicNatView => ({
  id: r.id, name: r.name, inside: r.inside_cidr, outside: r.outside_cidr, portsPerSubscriber: r.ports_per_subscriber, firstPort: r.first_port,
  rangesPerAddress: Math.floor((65536 - r.first_port) / r.ports_per_subscriber), createdAt: toIso(r.created_at)!, removedAt: toIso(r.removed_at),
});

/** Read at every resolution of an IPv4 address: fixed text, prepared once. */
const mappingsInForce = new PreparedStatement<DeterministicNatTable>('select * from deterministic_nat where created_at <= ? and (removed_at is null or removed_at > ?)');

/**
 * The mapping in force at `at` whose outside range holds `address`, as a calculator, or
 * undefined. Read from the store at every resolution: mappings are few, and every gateway
 * then answers by a change the moment it commits.
 */
export async function deterministicNatAt(db: Db, address: string, at: number): Promise<{ name: string; nat: DeterministicNat } | undefined> {
  if (address.includes(':')) return undefined;
  const rows = await mappingsInForce.all(db, dialectOf(db), [at, at]);
  for (const r of rows) {
    const nat = new DeterministicNat({ inside: r.inside_cidr, outside: r.outside_cidr, portsPerSubscriber: r.ports_per_subscriber, firstPort: r.first_port });
    if (nat.coversOutside(address)) return { name: r.name, nat };
  }
  return undefined;
}

/**
 * Operator-side management of deterministic NAT mappings (RFC 7422) for NAT devices that
 * report nothing over RADIUS. Each change is audited (`nat.add`, `nat.remove`) and
 * announced to the other gateways; a removed mapping is kept, so that resolution still
 * answers for the time it was in force.
 *
 * @example
 * await nat.add({ name: 'cgn-east', inside: '100.64.0.0/20', outside: '198.51.100.0/26', portsPerSubscriber: 1008 });
 */
export class DeterministicNatProvisioning {
  constructor(
    private readonly store: Store,
    private readonly actor = 'cli',
  ) {}

  async add(input: AddDeterministicNat): Promise<DeterministicNatView> {
    const name = input.name.trim();
    if (!/^[\w.-]{1,64}$/.test(name)) throw new SidebandError('REQUEST_INVALID', 'A mapping name is 1 to 64 letters, digits, dots, dashes or underscores.', { param: 'name' });
    let nat: DeterministicNat;
    try {
      nat = new DeterministicNat({ inside: input.inside, outside: input.outside, portsPerSubscriber: input.portsPerSubscriber, ...(input.firstPort !== undefined ? { firstPort: input.firstPort } : {}) });
    } catch (e) {
      if (e instanceof DeterministicNatError) throw new SidebandError('DETERMINISTIC_NAT_INVALID', e.message, { param: e.fault === 'ports-invalid' ? 'portsPerSubscriber' : 'inside' });
      throw e;
    }
    const now = Date.now();
    const row: DeterministicNatTable = { id: newId('dnat', now), name, inside_cidr: nat.inside.text, outside_cidr: nat.outside.text, ports_per_subscriber: nat.portsPerSubscriber, first_port: nat.firstPort, created_at: now, removed_at: null };
    await this.store.db.transaction().execute(async (tx) => {
      const existing = await tx.selectFrom('deterministic_nat').selectAll().execute();
      if (existing.some((r) => r.name === name)) throw new SidebandError('DETERMINISTIC_NAT_NAME_TAKEN', `A deterministic NAT mapping named ${name} exists already.`, { param: 'name' });
      for (const r of existing.filter((x) => x.removed_at === null)) {
        if (cidrsOverlap(parseCidr(r.inside_cidr), nat.inside) || cidrsOverlap(parseCidr(r.outside_cidr), nat.outside)) {
          throw new SidebandError('DETERMINISTIC_NAT_OVERLAP', `${nat.inside.text} → ${nat.outside.text} overlaps mapping ${r.name} (${r.inside_cidr} → ${r.outside_cidr}).`, { param: 'inside' });
        }
      }
      const pool = (await tx.selectFrom('pools').select(['name', 'cidr']).execute()).find((p) => cidrsOverlap(parseCidr(p.cidr), nat.outside));
      if (pool) throw new SidebandError('DETERMINISTIC_NAT_OVERLAP', `The outside range ${nat.outside.text} overlaps pool ${pool.name} (${pool.cidr}), whose bindings answer for those addresses.`, { param: 'outside' });
      await tx.insertInto('deterministic_nat').values(row).execute();
      await appendAudit(tx, { actor: this.actor, action: 'nat.add', subjectType: 'deterministic-nat', subjectId: row.id, detail: { name, inside: row.inside_cidr, outside: row.outside_cidr, portsPerSubscriber: row.ports_per_subscriber, firstPort: row.first_port } });
      await announce(tx, 'nat.add', row.id);
    });
    return viewOf(row);
  }

  /** Ends a mapping from now; it keeps answering for the time it was in force. */
  async remove(name: string): Promise<DeterministicNatView> {
    const now = Date.now();
    return this.store.db.transaction().execute(async (tx) => {
      const r = await tx.selectFrom('deterministic_nat').selectAll().where('name', '=', name).where('removed_at', 'is', null).executeTakeFirst();
      if (!r) throw new SidebandError('DETERMINISTIC_NAT_NOT_FOUND', `No deterministic NAT mapping named ${name} is in force.`, { param: 'name' });
      await tx.updateTable('deterministic_nat').set({ removed_at: now }).where('id', '=', r.id).execute();
      await appendAudit(tx, { actor: this.actor, action: 'nat.remove', subjectType: 'deterministic-nat', subjectId: r.id, detail: { name, inside: r.inside_cidr, outside: r.outside_cidr } });
      await announce(tx, 'nat.remove', r.id);
      return viewOf({ ...r, removed_at: now });
    });
  }

  /** Mappings in force, or every one ever made with `all`. */
  async list(all = false): Promise<DeterministicNatView[]> {
    let q = this.store.db.selectFrom('deterministic_nat').selectAll().orderBy('name');
    if (!all) q = q.where('removed_at', 'is', null);
    return (await q.execute()).map(viewOf);
  }
}
