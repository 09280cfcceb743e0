import type { Store } from '../../store/open-store.ts';
import type { BindingTable, PrefixBindingTable } from '../../store/schema.ts';
import { committedOf, type CommittedSession } from './session-rows.ts';

/**
 * After the unique open_key refused a unit (another gateway sharing the database bound it
 * first), the sessions that hold those keys, as committed now: open key → holder. The
 * allocator hands each to `SessionService.applyRemote`, so the unit is held in memory
 * *by its holder* and released with it, as the feed would have done had it been quicker;
 * a unit whose holder memory does not keep (it closed meanwhile) is given back.
 */
export async function clashHolders(store: Store, ipv4: string[], ipv6: string[]): Promise<Map<string, CommittedSession>> {
  const db = store.db;
  const holderOf = new Map<string, string>();
  if (ipv4.length > 0) for (const r of await db.selectFrom('bindings').select(['open_key', 'session_id']).where('open_key', 'in', ipv4).execute()) holderOf.set(r.open_key!, r.session_id);
  if (ipv6.length > 0) for (const r of await db.selectFrom('prefix_bindings').select(['open_key', 'session_id']).where('open_key', 'in', ipv6).execute()) holderOf.set(r.open_key!, r.session_id);
  const ids = [...new Set(holderOf.values())];
  const out = new Map<string, CommittedSession>();
  if (ids.length === 0) return out;
  const sessions = await db.selectFrom('sessions').selectAll().where('id', 'in', ids).execute();
  const latest = new Map<string, BindingTable>();
  for (const b of await db.selectFrom('bindings').selectAll().where('session_id', 'in', ids).orderBy('start_at', 'desc').execute()) if (!latest.has(b.session_id)) latest.set(b.session_id, b);
  const prefixes = new Map<string, PrefixBindingTable[]>();
  for (const p of await db.selectFrom('prefix_bindings').selectAll().where('session_id', 'in', ids).orderBy('start_at').execute()) prefixes.set(p.session_id, [...(prefixes.get(p.session_id) ?? []), p]);
  const committed = new Map(sessions.map((row) => [row.id, committedOf(row, latest.get(row.id), undefined, prefixes.get(row.id))]));
  for (const [key, id] of holderOf) {
    const s = committed.get(id);
    if (s) out.set(key, s);
  }
  return out;
}
