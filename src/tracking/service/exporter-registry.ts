import { newId } from '../../core/identity/ids.ts';
import { cidrContains, parseCidr, type Cidr } from '../../core/network/cidr.ts';
import { SidebandError } from '../../errors/sideband-error.ts';
import { appendAudit } from '../../store/audit-log.ts';
import type { Store } from '../../store/open-store.ts';
import { toIso } from '../../core/time/to-iso.ts';
import type { ExporterStanding } from '../wire/exporter-ranking.ts';

export interface ExporterView {
  id: string;
  name: string;
  address: string;
  createdAt: string;
}

/**
 * Flow exporters allowed to send to the collector, by source address or range. A source
 * registered as a single address (/32, /128) is `named`; one only inside a wider range is
 * `range`, and gives way to named ones when the decoder's tables are full.
 */
export class ExporterRegistry {
  private ranges: Array<{ name: string; range: Cidr }> = [];
  private bySource = new Map<string, { name: string; standing: ExporterStanding } | null>();
  private configured: ReadonlyArray<{ name: string; address: string }> = [];

  constructor(
    private readonly store: Store,
    private readonly actor = 'cli',
  ) {}

  async add(input: { name: string; address: string }): Promise<ExporterView> {
    const name = input.name.trim();
    if (!/^[\w.-]{1,64}$/.test(name)) throw new SidebandError('REQUEST_INVALID', 'An exporter name is 1 to 64 letters, digits, dots, dashes or underscores.', { param: 'name' });
    const address = parseCidr(input.address, 'address');
    const now = Date.now();
    const id = newId('exp', now);
    await this.store.db.transaction().execute(async (tx) => {
      if (await tx.selectFrom('exporters').select('id').where('name', '=', name).executeTakeFirst()) throw new SidebandError('EXPORTER_NAME_TAKEN', `An exporter named ${name} already exists.`, { param: 'name' });
      await tx.insertInto('exporters').values({ id, name, address: address.text, created_at: now }).execute();
      await appendAudit(tx, { actor: this.actor, action: 'exporter.add', subjectType: 'exporter', subjectId: id, detail: { name, address: address.text } });
    });
    return { id, name, address: address.text, createdAt: toIso(now) };
  }

  /** Stops accepting flow records from an exporter registered with `sideband exporter add`; running gateways drop it at the announcement (PostgreSQL) or within 10 s. */
  async remove(name: string): Promise<{ id: string; name: string; address: string }> {
    return this.store.db.transaction().execute(async (tx) => {
      const row = await tx.selectFrom('exporters').selectAll().where('name', '=', name).executeTakeFirst();
      if (!row) throw new SidebandError('EXPORTER_NOT_FOUND', `No exporter named ${name} is registered (exporters in the configuration's tracking.exporters are removed there).`, { param: 'name' });
      await tx.deleteFrom('exporters').where('id', '=', row.id).execute();
      await appendAudit(tx, { actor: this.actor, action: 'exporter.remove', subjectType: 'exporter', subjectId: row.id, detail: { name, address: row.address } });
      return { id: row.id, name: row.name, address: row.address };
    });
  }

  async list(): Promise<ExporterView[]> {
    const rows = await this.store.db.selectFrom('exporters').selectAll().orderBy('name').execute();
    return rows.map((r) => ({ id: r.id, name: r.name, address: r.address, createdAt: toIso(r.created_at) }));
  }

  /** Loads the registered exporters plus any given in configuration. */
  async load(configured: ReadonlyArray<{ name: string; address: string }> = this.configured): Promise<void> {
    this.configured = configured;
    const rows = await this.list();
    this.ranges = [...rows, ...configured].map((e) => ({ name: e.name, range: parseCidr(e.address) })).sort((a, b) => b.range.prefix - a.range.prefix);
    this.bySource.clear();
  }

  /** The exporter's name for a source address, or null when it is not registered. */
  lookup(source: string): string | null {
    return this.admit(source)?.name ?? null;
  }

  /** The registration a source address falls under, and its standing; null when none. */
  admit(source: string): { name: string; standing: ExporterStanding } | null {
    let hit = this.bySource.get(source);
    if (hit === undefined) {
      // Ranges are sorted longest prefix first, so an address registered alone wins over a range holding it.
      const found = this.ranges.find((r) => cidrContains(r.range, source));
      hit = found ? { name: found.name, standing: found.range.prefix === (found.range.family === 4 ? 32 : 128) ? 'named' : 'range' } : null;
      if (this.bySource.size > 10_000) this.bySource.clear();
      this.bySource.set(source, hit);
    }
    return hit;
  }
}
