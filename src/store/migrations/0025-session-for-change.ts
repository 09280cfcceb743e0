import { sql, type Kysely } from 'kysely';

type Dialect = 'sqlite' | 'postgres';

/**
 * On PostgreSQL, a session read for change in one round trip: its row locked FOR UPDATE,
 * then its latest binding and its IPv6 prefixes read after the lock was granted. Two
 * statements are needed, because a statement's snapshot is taken before it waits for a
 * lock: what it read beside the locked row could predate what the transaction it waited
 * for committed. A VOLATILE function takes a fresh snapshot for each statement it runs,
 * so its reads see that commit. The rows come back as JSON, one column each, so that the
 * driver describes three columns instead of the session's thirty. SQLite has one writer
 * and needs no lock (session-rows.ts). An older version does not call it.
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  if (dialect !== 'postgres') return;
  await sql`
    create function sideband_session_for_change(wanted text)
    returns table (session json, binding json, prefixes json)
    language plpgsql volatile as $$
    begin
      perform 1 from sessions where id = wanted for update;
      if not found then
        return;
      end if;
      return query select
        row_to_json(s),
        (select row_to_json(b) from bindings b where b.session_id = wanted order by b.start_at desc limit 1),
        (select json_agg(p order by p.start_at) from prefix_bindings p where p.session_id = wanted)
      from sessions s where s.id = wanted;
    end
    $$`.execute(db);
}
